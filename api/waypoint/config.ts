/**
 * The waypoint's compiled configuration: what the control plane makes of VirtualService,
 * DestinationRule and HTTPRoute for one service bound to a waypoint, pushed over Delta ADS
 * as `type.googleapis.com/ambit.waypoint.v1.WaypointService`, one resource per service
 * (named `namespace/hostname`). Everything the waypoint needs is resolved here (endpoints of
 * each subset, the sources a `sourceLabels` match admits, defaults), so the waypoint makes
 * no decision the control plane could have made once.
 */
import type { JwtRule, WaypointPolicy } from './security.js';

export type * from './security.js';
import type { ServiceTelemetry } from './telemetry.js';

/** How a string is matched; `regex` is RE2 syntax, matched against the whole value. */
export type StringMatch =
  { readonly exact: string } | { readonly prefix: string } | { readonly regex: string };

export interface HeaderMatch {
  readonly name: string;
  /** Absent: the header must be present (any value). */
  readonly match?: StringMatch;
  /** Gateway API / Istio `present: false`: the header must be absent. */
  readonly absent?: boolean;
}

export interface QueryMatch {
  readonly name: string;
  readonly match?: StringMatch;
}

/** One `match` block; every given field must hold. */
export interface RequestMatch {
  readonly uri?: StringMatch;
  readonly ignoreUriCase?: boolean;
  readonly method?: StringMatch;
  readonly authority?: StringMatch;
  readonly headers?: readonly HeaderMatch[];
  /**
   * Istio `withoutHeaders`: the request matches only if none of these match. An entry with a
   * `match` treats a missing header as the empty string (Envoy's treat_missing_header_as_empty).
   */
  readonly withoutHeaders?: readonly HeaderMatch[];
  readonly queryParams?: readonly QueryMatch[];
  /** The service port the request arrived on. */
  readonly port?: number;
  /**
   * `sourceLabels` (and `sourceNamespace`) resolved by the control plane to the source
   * workloads they select: their IPs. Absent: any source.
   */
  readonly sourceAddresses?: readonly string[];
}

export interface HeaderOperations {
  readonly set?: Readonly<Record<string, string>>;
  readonly add?: Readonly<Record<string, string>>;
  readonly remove?: readonly string[];
}

export interface RouteDestination {
  /** Names a cluster in `WaypointService.clusters`. */
  readonly cluster: string;
  /** Relative weight; weights need not sum to 100. A route with one destination has 100. */
  readonly weight: number;
  readonly headers?: { readonly request?: HeaderOperations; readonly response?: HeaderOperations };
  /**
   * The authority requests sent to this destination carry (Istio: the destination's `headers`
   * setting `:authority` or `host`). The route's `rewrite.authority` wins over it.
   */
  readonly authority?: string;
}

export interface Redirect {
  /** Replaces the path. */
  readonly uri?: string;
  /** The matched prefix is replaced by this (see `Rewrite.prefix` for what "matched" is). */
  readonly prefixRewrite?: string;
  readonly authority?: string;
  readonly scheme?: string;
  /** `derivePort: FROM_PROTOCOL_DEFAULT` gives undefined port with `derivePort: 'protocol'`. */
  readonly port?: number;
  readonly derivePort?: 'protocol' | 'request';
  /** 301 unless set (Istio's default). */
  readonly status: number;
}

export interface Rewrite {
  /** Replaces the whole path; the query string is kept (Gateway API `ReplaceFullPath`). */
  readonly uri?: string;
  /**
   * Replaces the matched part of the path, as Envoy's prefix_rewrite (Istio `rewrite.uri`,
   * Gateway API `ReplacePrefixMatch`): the `prefix` of a prefix match, the whole path for an
   * exact or regex match, and `/` when the match has no `uri`. The query string is kept.
   */
  readonly prefix?: string;
  /** RE2 `match` replaced (every occurrence) by `rewrite` with `\1` group references, on the path only. */
  readonly uriRegex?: { readonly match: string; readonly rewrite: string };
  readonly authority?: string;
}

export interface RetryPolicy {
  /** Attempts after the first; 0 disables retries. */
  readonly attempts: number;
  readonly perTryTimeoutMs?: number;
  /** Envoy retry-on tokens and bare status codes (`retriable-status-codes` with these). */
  readonly retryOn: readonly string[];
  readonly retriableStatusCodes: readonly number[];
  /**
   * Base interval of Envoy's jittered exponential backoff: 25 ms unless `retries.backoff` is
   * set. Other hosts are always preferred on retry.
   */
  readonly backoffBaseMs: number;
}

export interface FaultInjection {
  readonly delay?: { readonly fixedDelayMs: number; readonly percentage: number };
  /** `grpcStatus` set: a gRPC abort, answered with HTTP 200 and that `grpc-status`. */
  readonly abort?: {
    readonly httpStatus: number;
    readonly grpcStatus?: number;
    readonly percentage: number;
  };
}

export interface Mirror {
  readonly cluster: string;
  /** Percentage of requests mirrored, 0–100 (Istio: 100 when absent). */
  readonly percentage: number;
}

export interface CorsPolicy {
  readonly allowOrigins: readonly StringMatch[];
  readonly allowMethods: readonly string[];
  readonly allowHeaders: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly maxAgeSeconds?: number;
  readonly allowCredentials?: boolean;
}

export type RouteAction =
  | { readonly kind: 'route'; readonly destinations: readonly RouteDestination[] }
  | { readonly kind: 'redirect'; readonly redirect: Redirect }
  | { readonly kind: 'direct'; readonly status: number; readonly body?: string };

export interface HttpRoute {
  /** For tools: `VirtualService demo/reviews http[0]` or `HTTPRoute demo/r rules[1]`. */
  readonly origin: string;
  readonly name?: string;
  /** Any one must match; empty matches every request. */
  readonly matches: readonly RequestMatch[];
  readonly action: RouteAction;
  readonly rewrite?: Rewrite;
  readonly headers?: { readonly request?: HeaderOperations; readonly response?: HeaderOperations };
  /** Absent: no timeout (Istio's default for a route). */
  readonly timeoutMs?: number;
  readonly retries: RetryPolicy;
  readonly fault?: FaultInjection;
  readonly mirrors?: readonly Mirror[];
  readonly cors?: CorsPolicy;
}

export interface TcpRoute {
  readonly origin: string;
  /** Service ports this route applies to; empty: all. */
  readonly ports: readonly number[];
  readonly destinations: readonly RouteDestination[];
}

export type LoadBalancer =
  | { readonly kind: 'LEAST_REQUEST' }
  | { readonly kind: 'ROUND_ROBIN' }
  | { readonly kind: 'RANDOM' }
  | {
      readonly kind: 'CONSISTENT_HASH';
      readonly hashOn:
        | { readonly header: string }
        | {
            readonly cookie: {
              readonly name: string;
              readonly ttlMs?: number;
              readonly path?: string;
            };
          }
        | { readonly sourceIp: true }
        | { readonly queryParameter: string };
    };

export interface ConnectionPool {
  readonly maxConnections: number;
  readonly http1MaxPendingRequests: number;
  readonly http2MaxRequests: number;
  /** 0: unlimited. */
  readonly maxRequestsPerConnection: number;
  readonly maxRetries: number;
  readonly connectTimeoutMs: number;
  /** Absent: Envoy's default (1 h); 0: connections never idle out. */
  readonly idleTimeoutMs?: number;
}

export interface OutlierDetection {
  /** Absent: 5xx responses never eject (Istio's `consecutive5xxErrors: 0`); Envoy's default is 5. */
  readonly consecutive5xxErrors?: number;
  /** Absent: gateway errors are not counted on their own. */
  readonly consecutiveGatewayErrors?: number;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  /** Percent, default 10. */
  readonly maxEjectionPercent: number;
  /** Percent, default 0. */
  readonly minHealthPercent: number;
}

/** The traffic policy that applies to one cluster, already merged (port level, subset). */
export interface ClusterPolicy {
  readonly loadBalancer: LoadBalancer;
  readonly connectionPool: ConnectionPool;
  readonly outlierDetection?: OutlierDetection;
}

export interface Endpoint {
  /**
   * Pod IP; the waypoint tunnels to `address:15008` with `:authority` `address:port`. A
   * `plaintext` endpoint may be a host name (a DNS ServiceEntry's), resolved when connecting.
   */
  readonly address: string;
  readonly port: number;
  /** SPIFFE id the endpoint's node tunnel presents for it. */
  readonly identity: string;
  readonly healthy: boolean;
  /**
   * The tunnel's `:authority` when it is not `address:port`: a gateway that sends a service's
   * requests to the service's waypoint (`istio.io/ingress-use-waypoint`) tunnels to the
   * waypoint's address with the service's `VIP:port`.
   */
  readonly authority?: string;
  /**
   * No node tunnel captures the endpoint (it is not in the ambient mesh): the waypoint
   * connects to `address:port` directly, without HBONE, as Istio's waypoint does.
   */
  readonly plaintext?: boolean;
}

/**
 * Where routed requests go: a service port, optionally narrowed to a subset. Named
 * `outbound|<port>|<subset>|<host>` as Istio names Envoy clusters.
 */
export interface Cluster {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly subset?: string;
  readonly policy: ClusterPolicy;
  readonly endpoints: readonly Endpoint[];
  /** Why the cluster has no endpoints, if it was referenced but cannot be served (e.g. a missing subset). */
  readonly problem?: string;
}

export interface ServicePort {
  readonly port: number;
  readonly protocol: 'http' | 'http2' | 'tcp' | 'auto';
}

export interface WaypointService {
  readonly namespace: string;
  readonly name: string;
  readonly hostname: string;
  /** The IPs clients address the service on (a ServiceEntry's CIDR addresses are left out). */
  readonly vips: readonly string[];
  readonly ports: readonly ServicePort[];
  /**
   * Ordered: the first matching route wins; none matching is 404 (NR). The compiler writes a
   * `default` route to the service for every HTTP port the config has none for, so this is
   * empty only when the service has no HTTP (or sniffed) port. With several such ports every
   * match names its port.
   */
  readonly http: readonly HttpRoute[];
  /** Ordered, the first route for the port wins; every TCP or sniffed port ends in a `default`. */
  readonly tcp: readonly TcpRoute[];
  readonly clusters: readonly Cluster[];
  /** The waypoint (namespace/name) this service is bound to. */
  readonly waypoint: string;
  /** AuthorizationPolicies bound to the service or its waypoint; absent: none (allow all). */
  readonly policies?: readonly WaypointPolicy[];
  /** RequestAuthentication JWT rules bound to the service or its waypoint. */
  readonly jwtRules?: readonly JwtRule[];
  /** Telemetry API settings and destination workload facts (telemetry.ts). */
  readonly telemetry?: ServiceTelemetry;
}

export const WAYPOINT_SERVICE_TYPE_URL = 'type.googleapis.com/ambit.waypoint.v1.WaypointService';

/**
 * Istio's retry policy for a route that sets none (`DefaultRetryPolicy` in
 * pilot/pkg/networking/core/route/retry): 2 retries on connect failures, refused streams,
 * gRPC unavailable/cancelled and 503, Envoy's 25 ms backoff base.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  attempts: 2,
  retryOn: [
    'connect-failure',
    'refused-stream',
    'unavailable',
    'cancelled',
    'retriable-status-codes',
  ],
  retriableStatusCodes: [503],
  backoffBaseMs: 25,
};
