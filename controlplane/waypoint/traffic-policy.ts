/**
 * The policy of one cluster: a DestinationRule's trafficPolicy for a port and subset, merged
 * and defaulted as Istio builds Envoy clusters.
 *
 * Merge (pilot/pkg/networking/util MergeSubsetTrafficPolicy): a portLevelSettings entry for
 * the port replaces the top-level policy whole (components it leaves out fall to defaults,
 * they are not inherited); then the subset's policy (its own port-level entry likewise)
 * replaces the result component by component: loadBalancer, connectionPool and
 * outlierDetection each come whole from one level, never field by field.
 *
 * Defaults (cluster_traffic_policy.go, Envoy): LEAST_REQUEST; every circuit-breaker limit at
 * 2^32-1 (Istio raises Envoy's 1024 and max_retries 3); connect timeout 10 s (mesh default);
 * outlier detection only when configured, then Envoy's defaults for what it leaves out.
 */
import { durationMs } from '../../api/schema/index.js';
import type {
  ConnectionPoolSettings,
  LoadBalancerSettings,
  OutlierDetection as OutlierDetectionSettings,
  Subset,
  TrafficPolicy,
} from '../../api/resources/index.js';
import type {
  ClusterPolicy,
  ConnectionPool,
  LoadBalancer,
  OutlierDetection,
} from '../../api/waypoint/config.js';
import { compact } from './compact.js';

/** Envoy's circuit-breaker "no limit" as Istio sets it (math.MaxUint32). */
export const NO_LIMIT = 4294967295;
/** MeshConfig connectTimeout default. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

interface Components {
  loadBalancer?: LoadBalancerSettings | undefined;
  connectionPool?: ConnectionPoolSettings | undefined;
  outlierDetection?: OutlierDetectionSettings | undefined;
}

/** Istio's GetPortLevelTrafficPolicy: the port's entry replaces the policy when there is one. */
function forPort(
  policy: TrafficPolicy | undefined,
  port: number,
): { components: Components; portLevel: boolean } {
  const entry = policy?.portLevelSettings?.find((p) => p.port.number === port);
  if (entry !== undefined) {
    return {
      components: {
        loadBalancer: entry.loadBalancer,
        connectionPool: entry.connectionPool,
        outlierDetection: entry.outlierDetection,
      },
      portLevel: true,
    };
  }
  return {
    components: {
      loadBalancer: policy?.loadBalancer,
      connectionPool: policy?.connectionPool,
      outlierDetection: policy?.outlierDetection,
    },
    portLevel: false,
  };
}

/** The DestinationRule components that apply to one port of one (optional) subset. */
export function mergedComponents(
  policy: TrafficPolicy | undefined,
  subset: Subset | undefined,
  port: number,
): Components {
  const base = forPort(policy, port).components;
  if (subset?.trafficPolicy === undefined) return base;
  const { components: sub, portLevel } = forPort(subset.trafficPolicy, port);
  const pick = <K extends keyof Components>(key: K): Components[K] =>
    sub[key] !== undefined || portLevel ? sub[key] : base[key];
  return {
    loadBalancer: pick('loadBalancer'),
    connectionPool: pick('connectionPool'),
    outlierDetection: pick('outlierDetection'),
  };
}

function loadBalancer(settings: LoadBalancerSettings | undefined): LoadBalancer {
  const hash = settings?.consistentHash;
  if (hash !== undefined) {
    if (hash.httpHeaderName !== undefined) {
      return { kind: 'CONSISTENT_HASH', hashOn: { header: hash.httpHeaderName.toLowerCase() } };
    }
    if (hash.httpCookie !== undefined) {
      const { name, path, ttl } = hash.httpCookie;
      const cookie = compact({ name, ttlMs: ttl && durationMs(ttl), path });
      return { kind: 'CONSISTENT_HASH', hashOn: { cookie } };
    }
    if (hash.useSourceIp === true) return { kind: 'CONSISTENT_HASH', hashOn: { sourceIp: true } };
    if (hash.httpQueryParameterName !== undefined) {
      return { kind: 'CONSISTENT_HASH', hashOn: { queryParameter: hash.httpQueryParameterName } };
    }
    // A ring with no hash key hashes nothing: Envoy picks hosts at random.
    return { kind: 'RANDOM' };
  }
  switch (settings?.simple) {
    case 'RANDOM':
      return { kind: 'RANDOM' };
    case 'ROUND_ROBIN':
      return { kind: 'ROUND_ROBIN' };
    // LEAST_CONN is Istio's old name for LEAST_REQUEST; PASSTHROUGH (to the original
    // destination) has no meaning behind a waypoint, which always picks an endpoint.
    default:
      return { kind: 'LEAST_REQUEST' };
  }
}

/** Zero means "not set" in Istio's proto3 fields, so it keeps the default. */
function limit(value: number | undefined): number {
  return value !== undefined && value > 0 ? value : NO_LIMIT;
}

function connectionPool(settings: ConnectionPoolSettings | undefined): ConnectionPool {
  const { tcp, http } = settings ?? {};
  const idle = http?.idleTimeout ?? tcp?.idleTimeout;
  return compact({
    maxConnections: limit(tcp?.maxConnections),
    http1MaxPendingRequests: limit(http?.http1MaxPendingRequests),
    http2MaxRequests: limit(http?.http2MaxRequests),
    maxRequestsPerConnection: http?.maxRequestsPerConnection ?? 0,
    maxRetries: limit(http?.maxRetries),
    connectTimeoutMs: tcp?.connectTimeout
      ? durationMs(tcp.connectTimeout)
      : DEFAULT_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: idle && durationMs(idle),
  });
}

/**
 * Istio's applyOutlierDetection over Envoy's defaults: 5 consecutive 5xx eject unless
 * `consecutive5xxErrors` says otherwise (0 turns it off); gateway errors count on their own
 * only when set; interval 10 s, base ejection 30 s, at most 10 % ejected; the panic threshold
 * is `minHealthPercent` (0 unless set, and 0 when unready endpoints are published anyway).
 */
function outlierDetection(
  settings: OutlierDetectionSettings,
  publishNotReadyAddresses: boolean,
): OutlierDetection {
  const fiveXx = settings.consecutive5xxErrors ?? 5;
  const gateway = settings.consecutiveGatewayErrors ?? 0;
  const maxEjection = settings.maxEjectionPercent ?? 0;
  return compact({
    consecutive5xxErrors: fiveXx > 0 ? fiveXx : undefined,
    consecutiveGatewayErrors: gateway > 0 ? gateway : undefined,
    intervalMs: settings.interval ? durationMs(settings.interval) : 10_000,
    baseEjectionTimeMs: settings.baseEjectionTime ? durationMs(settings.baseEjectionTime) : 30_000,
    maxEjectionPercent: maxEjection > 0 ? maxEjection : 10,
    minHealthPercent: publishNotReadyAddresses ? 0 : (settings.minHealthPercent ?? 0),
  });
}

export function clusterPolicy(
  components: Components,
  options: { readonly publishNotReadyAddresses: boolean },
): ClusterPolicy {
  return compact({
    loadBalancer: loadBalancer(components.loadBalancer),
    connectionPool: connectionPool(components.connectionPool),
    outlierDetection:
      components.outlierDetection &&
      outlierDetection(components.outlierDetection, options.publishNotReadyAddresses),
  });
}
