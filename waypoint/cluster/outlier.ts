import type { OutlierDetection } from '../../api/waypoint/config.js';
import { grpcStatus, type AttemptOutcome } from './attempt-outcome.js';
import type { Clock } from './clock.js';
import type { EndpointKey, EndpointState } from './endpoint-state.js';

/** What outlier detection makes of one attempt. */
export type OutlierResult = 'success' | '5xx' | 'gateway-error';

/** Envoy's `max_ejection_percent` default, which Istio keeps when the field is 0 or absent. */
const DEFAULT_MAX_EJECTION_PERCENT = 10;
/** Envoy's `max_ejection_time` default; Istio has no field for it. */
const DEFAULT_MAX_EJECTION_TIME_MS = 300_000;

// Envoy's `grpcToHttpStatus`, for gRPC responses: index = gRPC status code.
const GRPC_TO_HTTP = [
  200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401,
];

/**
 * An attempt's outcome as Envoy's router reports it to outlier detection with
 * `split_external_local_origin_errors` off (Istio's default): a connect failure or reset is
 * a 503, a per-try timeout a 504, a gRPC response its `grpc-status` mapped to HTTP.
 */
export function outlierResultOf(outcome: AttemptOutcome): OutlierResult {
  const status =
    outcome.kind === 'response'
      ? httpStatusOf(outcome.status, outcome.headers)
      : outcome.kind === 'timeout'
        ? 504
        : 503;
  if (status === 502 || status === 503 || status === 504) return 'gateway-error';
  return status >= 500 && status <= 599 ? '5xx' : 'success';
}

function httpStatusOf(status: number, headers: Parameters<typeof grpcStatus>[0]): number {
  const grpc = grpcStatus(headers);
  if (grpc === undefined) return status;
  return GRPC_TO_HTTP[grpc] ?? 500;
}

/** Per-host counters, as Envoy's `DetectorHostMonitorImpl` keeps them. */
interface Monitor {
  consecutive5xx: number;
  consecutiveGateway: number;
  /** Multiplies the base ejection time; grows per ejection, shrinks per healthy interval. */
  backoff: number;
  lastEjectionMs: number;
  lastUnejectionMs?: number;
}

/**
 * Envoy's outlier detector, as Istio configures it (consecutive 5xx and consecutive
 * gateway errors; success-rate detection off; no ejection jitter).
 *
 * - A host is ejected the moment its consecutive count reaches the threshold (`==`, as
 *   Envoy counts); the count starts over either way.
 * - An ejection is allowed only if, counting it, at most `maxEjectionPercent` of the
 *   cluster's hosts are ejected (Envoy ≥ 1.27: 3 hosts at 10 % eject none).
 * - An ejected host returns at the first `sweep` after min(base × backoff, max(300 s, base));
 *   backoff grows by one per ejection and shrinks by one per interval spent healthy.
 *
 * Only hosts the control plane marks healthy count: the others are not in Istio's EDS.
 */
export class OutlierDetector {
  #policy: OutlierDetection;
  readonly #clock: Clock;
  readonly #monitors = new Map<EndpointKey, Monitor>();

  constructor(policy: OutlierDetection, clock: Clock) {
    this.#policy = policy;
    this.#clock = clock;
  }

  setPolicy(policy: OutlierDetection): void {
    this.#policy = policy;
  }

  /**
   * Counts one attempt's result on host `key` of `hosts` (the cluster's hosts); true if this
   * ejected it.
   */
  record(key: EndpointKey, result: OutlierResult, hosts: readonly EndpointState[]): boolean {
    const host = hosts.find((h) => h.key === key);
    if (!host || !host.endpoint.healthy) return false;
    const monitor = this.#monitor(key);
    if (result === 'success') {
      monitor.consecutive5xx = 0;
      monitor.consecutiveGateway = 0;
      return false;
    }
    // Absent thresholds count nothing: the control plane already put Istio's default of 5
    // for 5xx where the DestinationRule left it out.
    const { consecutive5xxErrors = 0, consecutiveGatewayErrors = 0 } = this.#policy;
    let ejected = false;
    if (result === 'gateway-error') {
      if (++monitor.consecutiveGateway === consecutiveGatewayErrors) {
        ejected = this.#onThreshold(host, hosts, monitor, 'consecutiveGateway');
      }
    } else {
      monitor.consecutiveGateway = 0;
    }
    if (++monitor.consecutive5xx === consecutive5xxErrors) {
      ejected = this.#onThreshold(host, hosts, monitor, 'consecutive5xx') || ejected;
    }
    return ejected;
  }

  /**
   * The interval timer's work: readmits every host whose ejection has run its time, then lets
   * hosts that stayed healthy a whole interval shed one step of backoff. Returns the hosts
   * readmitted.
   */
  sweep(hosts: readonly EndpointState[]): EndpointState[] {
    const now = this.#clock.now();
    const { baseEjectionTimeMs, intervalMs } = this.#policy;
    const maxMs = Math.max(DEFAULT_MAX_EJECTION_TIME_MS, baseEjectionTimeMs);
    const readmitted: EndpointState[] = [];
    for (const host of hosts) {
      const monitor = this.#monitors.get(host.key);
      if (!host.ejected || !monitor) continue;
      if (Math.min(baseEjectionTimeMs * monitor.backoff, maxMs) <= now - monitor.lastEjectionMs) {
        host.ejected = false;
        // Fresh counts, so a host is not ejected again on the strength of old errors.
        monitor.consecutive5xx = 0;
        monitor.consecutiveGateway = 0;
        monitor.lastUnejectionMs = now;
        readmitted.push(host);
      }
    }
    for (const host of hosts) {
      const monitor = this.#monitors.get(host.key);
      if (host.ejected || monitor?.lastUnejectionMs === undefined) continue;
      if (now - monitor.lastUnejectionMs >= intervalMs && monitor.backoff > 0) monitor.backoff--;
    }
    return readmitted;
  }

  /** Forgets hosts that left the cluster (or EDS): one that comes back starts fresh. */
  retain(keys: ReadonlySet<EndpointKey>): void {
    for (const key of this.#monitors.keys()) if (!keys.has(key)) this.#monitors.delete(key);
  }

  #monitor(key: EndpointKey): Monitor {
    let monitor = this.#monitors.get(key);
    if (!monitor) {
      monitor = { consecutive5xx: 0, consecutiveGateway: 0, backoff: 0, lastEjectionMs: 0 };
      this.#monitors.set(key, monitor);
    }
    return monitor;
  }

  #onThreshold(
    host: EndpointState,
    hosts: readonly EndpointState[],
    monitor: Monitor,
    counter: 'consecutive5xx' | 'consecutiveGateway',
  ): boolean {
    // An ejected host still counts (in panic it takes traffic) but is not ejected twice, and
    // its count is left alone until readmission resets it, as Envoy does.
    if (host.ejected) return false;
    const ejected = this.#tryEject(host, hosts, monitor);
    monitor[counter] = 0;
    return ejected;
  }

  #tryEject(host: EndpointState, hosts: readonly EndpointState[], monitor: Monitor): boolean {
    const { maxEjectionPercent, baseEjectionTimeMs } = this.#policy;
    const maxPercent =
      maxEjectionPercent > 0 ? Math.min(100, maxEjectionPercent) : DEFAULT_MAX_EJECTION_PERCENT;
    const counted = hosts.filter((h) => h.endpoint.healthy);
    const alreadyEjected = counted.filter((h) => h.ejected).length;
    // Envoy counts the ejection it is about to make (`(ejected + 1) / total <= max`).
    if ((100 * (alreadyEjected + 1)) / counted.length > maxPercent) return false;
    host.ejected = true;
    monitor.lastEjectionMs = this.#clock.now();
    const maxMs = Math.max(DEFAULT_MAX_EJECTION_TIME_MS, baseEjectionTimeMs);
    if (monitor.backoff * baseEjectionTimeMs < maxMs + baseEjectionTimeMs) monitor.backoff++;
    return true;
  }
}
