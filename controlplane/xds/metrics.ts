import { Counter, Gauge, Histogram, type Registry } from '../../core/telemetry/metrics.js';

/** The Delta ADS server's metrics, registered on the program's registry. */
export interface XdsMetrics {
  readonly connectedClients: Gauge;
  readonly pushes: Counter<'type'>;
  readonly pushDuration: Histogram<'type'>;
  readonly nacks: Counter<'type'>;
  readonly authFailures: Counter;
  readonly badRequests: Counter<'reason'>;
}

export function xdsMetrics(registry: Registry): XdsMetrics {
  const registers = [registry];
  return {
    connectedClients: new Gauge({
      name: 'ambit_xds_connected_clients',
      help: 'Delta ADS streams currently open and authenticated',
      registers,
    }),
    pushes: new Counter({
      name: 'ambit_xds_pushes_total',
      help: 'Delta ADS responses sent, by resource type URL',
      labelNames: ['type'],
      registers,
    }),
    pushDuration: new Histogram({
      name: 'ambit_xds_push_duration_seconds',
      help: 'Time from a config change (or a client request) to the response that carries it being written',
      labelNames: ['type'],
      buckets: [0.01, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    nacks: new Counter({
      name: 'ambit_xds_nacks_total',
      help: 'Delta ADS responses rejected by clients, by resource type URL',
      labelNames: ['type'],
      registers,
    }),
    authFailures: new Counter({
      name: 'ambit_xds_auth_failures_total',
      help: 'Delta ADS streams refused for a missing or invalid bearer token',
      registers,
    }),
    badRequests: new Counter({
      name: 'ambit_xds_bad_requests_total',
      help: 'Delta ADS requests ignored as malformed or out of protocol, by reason',
      labelNames: ['reason'],
      registers,
    }),
  };
}
