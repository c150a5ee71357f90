/**
 * The resource kinds the mesh reads: their types, schemas, definitions, loader and errors.
 * Everything outside api/ imports resources from here.
 */
import type { GatewaySpec, ServiceEntrySpec, VirtualServiceSpec } from './networking.js';
import type { DestinationRuleSpec, WorkloadEntrySpec } from './networking.js';
import type {
  AuthorizationPolicySpec,
  PeerAuthenticationSpec,
  RequestAuthenticationSpec,
} from './security.js';
import type { HTTPRouteSpec, KubernetesGatewaySpec } from './gateway-api.js';
import type { TelemetrySpec } from './telemetry.js';
import type {
  ConfigMapSpec,
  NamespaceSpec,
  PodSpec,
  PodStatus,
  SecretSpec,
  ServiceAccountSpec,
  ServiceSpec,
} from './kubernetes.js';
import type { Resource } from './types.js';

export type NamespaceResource = Resource<'Namespace', NamespaceSpec>;
export type PodResource = Resource<'Pod', PodSpec, PodStatus>;
export type ServiceResource = Resource<'Service', ServiceSpec>;
export type ServiceAccountResource = Resource<'ServiceAccount', ServiceAccountSpec>;
export type ConfigMapResource = Resource<'ConfigMap', ConfigMapSpec>;
export type SecretResource = Resource<'Secret', SecretSpec>;
export type VirtualServiceResource = Resource<'VirtualService', VirtualServiceSpec>;
export type DestinationRuleResource = Resource<'DestinationRule', DestinationRuleSpec>;
export type GatewayResource = Resource<'Gateway', GatewaySpec>;
export type ServiceEntryResource = Resource<'ServiceEntry', ServiceEntrySpec>;
export type WorkloadEntryResource = Resource<'WorkloadEntry', WorkloadEntrySpec>;
export type PeerAuthenticationResource = Resource<'PeerAuthentication', PeerAuthenticationSpec>;
export type AuthorizationPolicyResource = Resource<'AuthorizationPolicy', AuthorizationPolicySpec>;
export type RequestAuthenticationResource = Resource<
  'RequestAuthentication',
  RequestAuthenticationSpec
>;
export type KubernetesGatewayResource = Resource<'KubernetesGateway', KubernetesGatewaySpec>;
export type HTTPRouteResource = Resource<'HTTPRoute', HTTPRouteSpec>;
export type TelemetryResource = Resource<'Telemetry', TelemetrySpec>;

/** Any resource the mesh reads; narrow it on `type`. */
export type AnyResource =
  | NamespaceResource
  | PodResource
  | ServiceResource
  | ServiceAccountResource
  | ConfigMapResource
  | SecretResource
  | VirtualServiceResource
  | DestinationRuleResource
  | GatewayResource
  | ServiceEntryResource
  | WorkloadEntryResource
  | PeerAuthenticationResource
  | AuthorizationPolicyResource
  | RequestAuthenticationResource
  | KubernetesGatewayResource
  | HTTPRouteResource
  | TelemetryResource;

/** The resource of one type: `ResourceOf<'Pod'>` is `PodResource`. */
export type ResourceOf<T extends AnyResource['type']> = Extract<AnyResource, { type: T }>;

export type {
  ObjectMeta,
  OwnerReference,
  SourcePosition,
  ResourceType,
  Resource,
  ResourceDefinition,
  NameFormat,
} from './types.js';
export { ResourceError } from './errors.js';
export type { ResourceErrorDetails } from './errors.js';
export {
  ResourceRegistry,
  registry,
  definitions,
  definitionFor,
  splitApiVersion,
  apiVersionOf,
} from './registry.js';
export { parseResources, validateResource } from './load.js';
export type { LoadResult, ValidateResult } from './load.js';
export { crdFor, crds } from './crd.js';
export * from './networking.js';
export * from './security.js';
export * from './gateway-api.js';
export * from './kubernetes.js';
