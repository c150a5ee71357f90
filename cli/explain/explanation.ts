/**
 * The result of `ambit x explain`: numbered steps in the order the mesh takes the request,
 * then the outcome. `-o json` prints this structure; fields are added, never renamed.
 */

/** A workload as an explanation names it. */
export interface WorkloadRef {
  /** `namespace/name`. */
  readonly name: string;
  readonly address: string;
  readonly identity: string;
  readonly node?: string;
}

/** An endpoint a request may reach. */
export interface EndpointRef {
  /** `namespace/name` of the workload behind it, when the mesh knows it. */
  readonly workload?: string;
  readonly address: string;
  readonly port: number;
  readonly healthy: boolean;
}

/** One policy evaluated for the request, and what it did. */
export interface PolicyEvaluation {
  /** `namespace/name`, as the proxy knows the policy. */
  readonly policy: string;
  readonly action: 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
  readonly matched: boolean;
  /** Evaluated but never enforced (dry run). */
  readonly dryRun?: boolean;
  /** What the policy is (a converted PeerAuthentication, …), when it is not a user's policy. */
  readonly note?: string;
}

/** The decision of one proxy for one destination workload. */
export interface AuthorizationDecision {
  /** The workload whose node tunnel decides (L4), or the waypoint (L7). */
  readonly at: string;
  readonly allowed: boolean;
  readonly reason: string;
  /** `namespace/name` of the policy that decided, when one did. */
  readonly policy?: string;
  readonly policies: readonly PolicyEvaluation[];
  /** PeerAuthentication mode in force at that workload (L4 only). */
  readonly mtls?: 'STRICT' | 'PERMISSIVE';
  /** Who the proxy sees as the peer. */
  readonly peer: { readonly identity?: string; readonly address: string };
}

export interface RouteCheck {
  readonly index: number;
  readonly origin: string;
  readonly matched: boolean;
  readonly reason: string;
}

export interface WeightedDestination {
  readonly cluster: string;
  readonly host: string;
  readonly port: number;
  readonly subset?: string;
  /** Share of requests, in percent of the route's total weight. */
  readonly percent: number;
  readonly loadBalancer: string;
  readonly endpoints: readonly EndpointRef[];
  /** Why the cluster cannot be served (a missing subset, …): requests get 503 NC. */
  readonly problem?: string;
}

export type Step =
  | {
      readonly kind: 'capture';
      readonly summary: string;
      readonly source: WorkloadRef;
      readonly captured: boolean;
      /** The node tunnel that captures it. */
      readonly nodeTunnel?: string;
      readonly reason: string;
    }
  | {
      readonly kind: 'destination';
      readonly summary: string;
      readonly target: 'service' | 'workload' | 'outside-mesh';
      readonly service?: string;
      readonly vip?: string;
      readonly port: number;
      readonly targetPort?: number;
      readonly workload?: string;
    }
  | {
      readonly kind: 'tunnel';
      readonly summary: string;
      readonly via: 'waypoint' | 'direct' | 'plaintext' | 'none';
      readonly waypoint?: string;
      readonly waypointEndpoints?: readonly EndpointRef[];
      readonly reason: string;
      /** For a direct tunnel: the endpoints one of which is chosen at random. */
      readonly endpoints?: readonly EndpointRef[];
    }
  | {
      readonly kind: 'route';
      readonly summary: string;
      readonly protocol: string;
      readonly routes: readonly RouteCheck[];
      readonly matched?: {
        readonly index: number;
        readonly origin: string;
        readonly name?: string;
      };
    }
  | {
      readonly kind: 'fault';
      readonly summary: string;
      readonly delay?: { readonly fixedDelayMs: number; readonly percent: number };
      readonly abort?: {
        readonly httpStatus: number;
        readonly grpcStatus?: number;
        readonly percent: number;
      };
    }
  | {
      readonly kind: 'resilience';
      readonly summary: string;
      readonly timeoutMs?: number;
      readonly retries: {
        readonly attempts: number;
        readonly retryOn: readonly string[];
        readonly retriableStatusCodes: readonly number[];
        readonly perTryTimeoutMs?: number;
        readonly backoffBaseMs: number;
      };
    }
  | {
      readonly kind: 'destinations';
      readonly summary: string;
      readonly destinations: readonly WeightedDestination[];
      readonly mirrors: readonly { readonly cluster: string; readonly percent: number }[];
    }
  | {
      readonly kind: 'waypoint-authorization';
      readonly summary: string;
      /** False until the waypoint enforces L7 AuthorizationPolicy (see explain.ts, `l7`). */
      readonly evaluated: boolean;
      readonly decision?: AuthorizationDecision;
      /** The policies bound to this service or waypoint by targetRef. */
      readonly policies: readonly string[];
    }
  | {
      readonly kind: 'node-tunnel-authorization';
      readonly summary: string;
      readonly decisions: readonly AuthorizationDecision[];
    };

export type OutcomeKind =
  | 'routed'
  | 'denied'
  | 'fault-abort'
  | 'no-route'
  | 'no-cluster'
  | 'no-healthy-upstream'
  | 'direct-response'
  | 'redirect'
  | 'unavailable'
  | 'outside-mesh';

export interface Outcome {
  readonly kind: OutcomeKind;
  readonly summary: string;
  /** The HTTP status the client gets, when the mesh answers or the route is certain. */
  readonly status?: number;
  /** Envoy response flags of a reply the waypoint makes itself. */
  readonly flags?: readonly string[];
  /** The client's connection is reset instead of answered (a node tunnel refused it). */
  readonly connectionReset?: boolean;
  /** Who may answer a routed request. */
  readonly endpoints?: readonly EndpointRef[];
  /** A decision taken by chance (a fault percentage below 100, weighted destinations). */
  readonly chance?: string;
}

export interface ExplainedRequest {
  readonly from: string;
  readonly to: string;
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface Explanation {
  readonly request: ExplainedRequest;
  readonly steps: readonly Step[];
  readonly outcome: Outcome;
}
