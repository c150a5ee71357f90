import { Counter, type Registry } from '../core/telemetry/metrics.js';
import { formatFlags } from './proxy/flags.js';
import type { RequestRecord } from './proxy/record.js';

/**
 * The waypoint's request counter, by status and Envoy response flags. Istio's standard
 * request metrics (`istio_requests_total` and the rest, with their labels) are built on the
 * same records in telemetry/istio-metrics.ts.
 */
export class WaypointMetrics {
  readonly #requests: Counter<'response_code' | 'response_flags'>;

  constructor(registry: Registry) {
    this.#requests = new Counter({
      name: 'ambit_waypoint_requests_total',
      help: 'HTTP requests the waypoint finished, by response code and response flags',
      labelNames: ['response_code', 'response_flags'],
      registers: [registry],
    });
  }

  requestDone(record: Readonly<RequestRecord>): void {
    this.#requests.inc({
      response_code: String(record.status),
      response_flags: formatFlags(record.flags),
    });
  }
}
