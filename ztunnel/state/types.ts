import type { Identity } from '../../core/identity/spiffe.js';
import type { Cidr } from '../../core/net/ip.js';

/** A workload's mesh-wide name and xDS resource name, e.g. `Kubernetes//Pod/default/reviews-v1-x`. */
export type WorkloadUid = string & { readonly brand: 'WorkloadUid' };

/** A service's xDS resource name and its key in `Workload.services`: `<namespace>/<hostname>`. */
export type ServiceKey = string & { readonly brand: 'ServiceKey' };

/** A service port and the port the workload serves it on. */
export interface PortMapping {
  readonly servicePort: number;
  readonly targetPort: number;
}

/** How the control plane names a waypoint: by IP, or by the hostname of its service. */
export type WaypointRef =
  | {
      readonly kind: 'address';
      readonly network: string;
      readonly address: string;
      readonly hboneMtlsPort: number;
    }
  | {
      readonly kind: 'hostname';
      readonly namespace: string;
      readonly hostname: string;
      readonly hboneMtlsPort: number;
    };

/**
 * A waypoint resolved to an IP: the address the control plane gave, or for the hostname form
 * a VIP of the waypoint's service. Tunnels go to a workload behind it on `hboneMtlsPort`.
 */
export interface Waypoint {
  readonly address: string;
  readonly hboneMtlsPort: number;
}

/** One endpoint of the mesh (a pod, a WorkloadEntry, a ServiceEntry endpoint), as ztunnel holds it. */
export interface Workload {
  readonly uid: WorkloadUid;
  readonly name: string;
  readonly namespace: string;
  /** `default` when the control plane leaves it empty. */
  readonly serviceAccount: string;
  /** `cluster.local` when the control plane leaves it empty. */
  readonly trustDomain: string;
  readonly identity: Identity;
  /** Canonical IP text (see ip.ts); empty for a workload known only by hostname. */
  readonly addresses: readonly string[];
  readonly hostname: string;
  readonly node: string;
  readonly network: string;
  readonly workloadName: string;
  readonly canonicalName: string;
  readonly canonicalRevision: string;
  /** `Kubernetes` when the control plane leaves it empty. */
  readonly clusterId: string;
  /** HBONE: reached through its node tunnel on 15008. NONE: not in the mesh, plain TCP. */
  readonly protocol: 'HBONE' | 'NONE';
  /** The workload terminates HBONE itself (a waypoint): forward tunnelled traffic as is. */
  readonly nativeTunnel: boolean;
  /** HOST_NETWORK workloads share their node's IP, so they are never found by IP. */
  readonly networkMode: 'STANDARD' | 'HOST_NETWORK';
  /** The waypoint bound to the workload, as the control plane named it. */
  readonly waypointRef?: WaypointRef;
  /** The bound waypoint resolved to an IP; absent when none is bound or it cannot be resolved. */
  readonly waypoint?: Waypoint;
  readonly healthy: boolean;
  /** Services this workload backs, with its own port mapping for each. */
  readonly services: ReadonlyMap<ServiceKey, readonly PortMapping[]>;
  /** `namespace/name` of the selector policies that apply to it (namespace and mesh policies are implied). */
  readonly authorizationPolicies: readonly string[];
}

/** A service: workloads reached together through VIPs. */
export interface Service {
  readonly key: ServiceKey;
  readonly name: string;
  readonly namespace: string;
  readonly hostname: string;
  /** Canonical IP text; empty for a headless service. */
  readonly vips: readonly string[];
  /** VIPs given as address blocks (a ServiceEntry with CIDR addresses). */
  readonly cidrVips: readonly Cidr[];
  readonly ports: readonly PortMapping[];
  readonly waypointRef?: WaypointRef;
  readonly waypoint?: Waypoint;
  /** When set, the identities endpoints present instead of their own. */
  readonly subjectAltNames: readonly string[];
  /** Load balancing mode PASSTHROUGH: clients connect to the address they asked for. */
  readonly passthrough: boolean;
  /** Health policy ALLOW_ALL: unhealthy endpoints are used too. */
  readonly allowUnhealthy: boolean;
}
