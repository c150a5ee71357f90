import { meshAccessLogOn } from '../api/mesh/access-log.js';
import type { MeshConfig } from '../api/mesh/config.js';
import type { AccessLog } from '../core/telemetry/access-log.js';
import type { ConnectionLabels } from './metrics.js';

/** One connection as the node tunnel saw it, for its access log line. */
export interface ConnectionRecord {
  readonly direction: 'inbound' | 'outbound';
  /** `ip:port` of the side that opened the connection. */
  readonly src: string;
  /** `ip:port` it was addressed to (the original destination, or the pod's port inbound). */
  readonly dst: string;
  /** Outbound over HBONE: the tunnel's `:authority` (endpoint or waypoint). */
  readonly hboneAddr?: string;
  readonly labels: ConnectionLabels;
  /** `performance.now()` when it opened. */
  readonly startedAt: number;
}

const unknownIsNull = (value: string): string | null => (value === 'unknown' ? null : value);

/**
 * The node tunnel's access log: one JSON line per connection on stdout with the field names of
 * Istio ztunnel's `access` scope (`src.addr`, `src.workload`, `dst.service`, `bytes_sent`, …),
 * on when MeshConfig turns access logs on (`accessLogFile`, or a file provider among
 * `defaultProviders.accessLogging`). `bytes_sent` is what the source sent, `bytes_recv` what
 * it received. A failed connection carries `error` (the reason code).
 */
export class ConnectionAccessLog {
  readonly #log: AccessLog;
  /** Read before building a line, so a connection costs nothing while logging is off. */
  enabled = false;

  constructor(log: AccessLog) {
    this.#log = log;
  }

  configure(mesh: MeshConfig): void {
    this.enabled = meshAccessLogOn(mesh);
  }

  flush(): void {
    this.#log.flush();
  }

  complete(connection: ConnectionRecord, bytes: { sent: number; recv: number }): void {
    this.#log.write({
      ...this.#fields(connection, 'connection complete'),
      bytes_sent: bytes.sent,
      bytes_recv: bytes.recv,
    });
  }

  failed(connection: ConnectionRecord, error: string): void {
    this.#log.write({ ...this.#fields(connection, 'connection failed'), error });
  }

  #fields(c: ConnectionRecord, message: string): Record<string, unknown> {
    const l = c.labels;
    return {
      timestamp: new Date().toISOString(),
      scope: 'access',
      message,
      direction: c.direction,
      'src.addr': c.src,
      'src.workload': unknownIsNull(l.source_workload),
      'src.namespace': unknownIsNull(l.source_workload_namespace),
      'src.identity': unknownIsNull(l.source_principal),
      'dst.addr': c.dst,
      'dst.hbone_addr': c.hboneAddr ?? null,
      'dst.service': unknownIsNull(l.destination_service),
      'dst.workload': unknownIsNull(l.destination_workload),
      'dst.namespace': unknownIsNull(l.destination_workload_namespace),
      'dst.identity': unknownIsNull(l.destination_principal),
      duration: `${Math.round(performance.now() - c.startedAt)}ms`,
    };
  }
}
