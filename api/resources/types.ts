/**
 * The envelope every resource shares, and what the mesh knows about each kind: its API
 * group, versions, names and spec schema. The spec schemas live beside their kinds
 * (networking.ts, security.ts, gateway-api.ts, kubernetes.ts).
 */
import type { Issue, Schema } from '../schema/index.js';

/** An object that owns this one; at most one of an object's owners is its controller. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  /** The owner manages this object (a ReplicaSet its pods, a Job its pods). */
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  /** The prefix the API server made `name` from, when a controller asked it to. */
  generateName?: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  /** Set once deletion is asked for; the object lives on while it shuts down. */
  deletionTimestamp?: string;
  ownerReferences?: OwnerReference[];
}

/** Where a resource came from, when it came from a file. Lines count from 1. */
export interface SourcePosition {
  file?: string;
  line?: number;
}

/**
 * The kinds the mesh reads. `KubernetesGateway` is gateway.networking.k8s.io's Gateway, named
 * apart because its kind collides with networking.istio.io's Gateway.
 */
export type ResourceType =
  | 'Namespace'
  | 'Pod'
  | 'Service'
  | 'ServiceAccount'
  | 'ConfigMap'
  | 'Secret'
  | 'VirtualService'
  | 'DestinationRule'
  | 'Gateway'
  | 'ServiceEntry'
  | 'WorkloadEntry'
  | 'PeerAuthentication'
  | 'AuthorizationPolicy'
  | 'RequestAuthentication'
  | 'KubernetesGateway'
  | 'HTTPRoute'
  | 'Telemetry';

export interface Resource<T extends ResourceType, Spec, Status = unknown> {
  type: T;
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
  source?: SourcePosition;
}

/** How names of a kind are checked: most kinds take DNS-1123 subdomains, some only labels. */
export type NameFormat = 'dns1123-subdomain' | 'dns1123-label';

export interface ResourceDefinition {
  type: ResourceType;
  /** API group; '' for the Kubernetes core group. */
  group: string;
  kind: string;
  /** Served versions; the first is the storage version. */
  versions: string[];
  /** Lowercase plural, as in the REST path and the CRD name. */
  plural: string;
  namespaced: boolean;
  spec: Schema<unknown>;
  /** Checks that need the whole object (its name decides what its data must be). */
  check?: (metadata: ObjectMeta, spec: unknown) => Issue[];
  status?: Schema<unknown>;
  /** Defaults to 'dns1123-subdomain'. */
  nameFormat?: NameFormat;
  shortNames?: string[];
  categories?: string[];
  /**
   * For kinds whose content is top-level fields rather than `spec` (Secret's `data`): those
   * fields, gathered into the resource's `spec`.
   */
  specFields?: readonly string[];
}
