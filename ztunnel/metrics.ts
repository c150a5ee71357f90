import { Counter, type Registry } from '../core/telemetry/metrics.js';
import type { Workload } from './state/types.js';

// Istio's TCP metrics as ztunnel reports them (DESIGN.md §1 metrics), so that existing
// dashboards work unchanged. A connection is counted once by the source node's tunnel
// (reporter="source") and once by the destination's (reporter="destination").

const LABELS = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_service',
  'destination_service_namespace',
  'destination_service_name',
  'destination_workload',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_cluster',
  'request_protocol',
  'response_flags',
  'connection_security_policy',
] as const;

export type ConnectionLabels = Record<(typeof LABELS)[number], string>;

const UNKNOWN = 'unknown';

/** The two ends of a connection as far as the reporting tunnel knows them. */
export interface ConnectionParties {
  reporter: 'source' | 'destination';
  source?: Workload;
  /** The peer's identity when the workload itself is not known (e.g. a remote peer). */
  sourcePrincipal?: string;
  destination?: Workload;
  destinationPrincipal?: string;
  service?: { hostname: string; namespace: string; name: string };
  mtls: boolean;
}

/** Builds the label set once per connection; missing values are `unknown`, as in Istio. */
export function connectionLabels(p: ConnectionParties): ConnectionLabels {
  const src = p.source;
  const dst = p.destination;
  return {
    reporter: p.reporter,
    source_workload: src?.workloadName || UNKNOWN,
    source_canonical_service: src?.canonicalName || UNKNOWN,
    source_canonical_revision: src?.canonicalRevision || UNKNOWN,
    source_workload_namespace: src?.namespace || UNKNOWN,
    source_principal: src?.identity ?? p.sourcePrincipal ?? UNKNOWN,
    source_app: src?.canonicalName || UNKNOWN,
    source_version: src?.canonicalRevision || UNKNOWN,
    source_cluster: src?.clusterId || UNKNOWN,
    destination_service: p.service?.hostname ?? UNKNOWN,
    destination_service_namespace: p.service?.namespace ?? UNKNOWN,
    destination_service_name: p.service?.name ?? UNKNOWN,
    destination_workload: dst?.workloadName || UNKNOWN,
    destination_canonical_service: dst?.canonicalName || UNKNOWN,
    destination_canonical_revision: dst?.canonicalRevision || UNKNOWN,
    destination_workload_namespace: dst?.namespace || UNKNOWN,
    destination_principal: dst?.identity ?? p.destinationPrincipal ?? UNKNOWN,
    destination_app: dst?.canonicalName || UNKNOWN,
    destination_version: dst?.canonicalRevision || UNKNOWN,
    destination_cluster: dst?.clusterId || UNKNOWN,
    request_protocol: 'tcp',
    response_flags: '-',
    connection_security_policy: p.mtls ? 'mutual_tls' : UNKNOWN,
  };
}

export class TcpMetrics {
  readonly #opened: Counter<string>;
  readonly #closed: Counter<string>;
  readonly #sent: Counter<string>;
  readonly #received: Counter<string>;
  readonly #failures: Counter<string>;

  constructor(registry: Registry) {
    const labelNames = [...LABELS];
    const registers = [registry];
    this.#opened = new Counter({
      name: 'istio_tcp_connections_opened_total',
      help: 'The total number of TCP connections opened',
      labelNames,
      registers,
    });
    this.#closed = new Counter({
      name: 'istio_tcp_connections_closed_total',
      help: 'The total number of TCP connections closed',
      labelNames,
      registers,
    });
    this.#sent = new Counter({
      name: 'istio_tcp_sent_bytes_total',
      help: 'The size of total bytes sent during response in case of a TCP connection',
      labelNames,
      registers,
    });
    this.#received = new Counter({
      name: 'istio_tcp_received_bytes_total',
      help: 'The size of total bytes received during request in case of a TCP connection',
      labelNames,
      registers,
    });
    this.#failures = new Counter({
      name: 'ambit_ztunnel_connection_failures_total',
      help: 'Connections the node tunnel could not carry, by direction and reason',
      labelNames: ['direction', 'reason'],
      registers,
    });
  }

  opened(labels: ConnectionLabels): void {
    this.#opened.inc(labels);
  }

  /**
   * Counts the close and the bytes. Callers read the bytes from a plain socket's own counters
   * (`bytesRead`/`bytesWritten`), so nothing is counted per chunk. `received` is the request
   * direction (client to server), `sent` the response direction.
   */
  closed(labels: ConnectionLabels, bytes: { received: number; sent: number }): void {
    this.#closed.inc(labels);
    this.#received.inc(labels, bytes.received);
    this.#sent.inc(labels, bytes.sent);
  }

  failed(direction: 'inbound' | 'outbound', reason: string): void {
    this.#failures.inc({ direction, reason });
  }
}
