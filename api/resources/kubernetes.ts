/**
 * The Kubernetes core/v1 kinds the mesh reads: Namespace and ServiceAccount (their metadata
 * is what matters: labels such as istio.io/dataplane-mode), Pod and Service. These are not
 * mesh resources: fields the mesh does not read are accepted without checks.
 */
import { s } from '../schema/index.js';
import type { Infer } from '../schema/index.js';
import { configMapDefinition } from './kubernetes-configmap.js';
import { podSpec, podStatus } from './kubernetes-pod.js';
import { secretDefinition } from './kubernetes-secret.js';
import { serviceSpec } from './kubernetes-service.js';
import type { ResourceDefinition } from './types.js';

export type {
  Container,
  ContainerPort,
  ContainerRestartPolicy,
  PodPhase,
  PodSpec,
  PodStatus,
} from './kubernetes-pod.js';
export type { Protocol } from './kubernetes-ports.js';
export type {
  InternalTrafficPolicy,
  ServicePort,
  ServiceSpec,
  ServiceType,
} from './kubernetes-service.js';
export { podSpec, podStatus, serviceSpec };
export type { ConfigMapSpec } from './kubernetes-configmap.js';
export { SECRET_TYPE_TLS, secretSpec, secretValue } from './kubernetes-secret.js';
export type { SecretSpec } from './kubernetes-secret.js';

const loose = { unknownFields: 'ignore' } as const;

export const namespaceSpec = s.object({ finalizers: s.array(s.string()).optional() }, loose);
export type NamespaceSpec = Infer<typeof namespaceSpec>;

/** A ServiceAccount has no spec; its identity is its namespace and name. */
export const serviceAccountSpec = s.object({}, loose);
export type ServiceAccountSpec = Infer<typeof serviceAccountSpec>;

export const definitions: ResourceDefinition[] = [
  {
    type: 'Namespace',
    group: '',
    kind: 'Namespace',
    versions: ['v1'],
    plural: 'namespaces',
    namespaced: false,
    spec: namespaceSpec,
    nameFormat: 'dns1123-label',
    shortNames: ['ns'],
  },
  {
    type: 'Pod',
    group: '',
    kind: 'Pod',
    versions: ['v1'],
    plural: 'pods',
    namespaced: true,
    spec: podSpec,
    status: podStatus,
    shortNames: ['po'],
  },
  {
    type: 'Service',
    group: '',
    kind: 'Service',
    versions: ['v1'],
    plural: 'services',
    namespaced: true,
    spec: serviceSpec,
    // Service names are DNS-1035 labels; DNS-1123 labels are the closest format on offer.
    nameFormat: 'dns1123-label',
    shortNames: ['svc'],
  },
  {
    type: 'ServiceAccount',
    group: '',
    kind: 'ServiceAccount',
    versions: ['v1'],
    plural: 'serviceaccounts',
    namespaced: true,
    spec: serviceAccountSpec,
    shortNames: ['sa'],
  },
  configMapDefinition,
  secretDefinition,
];
