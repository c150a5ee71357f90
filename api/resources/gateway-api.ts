/**
 * The gateway.networking.k8s.io kinds the mesh reads: Gateway (as KubernetesGateway, since
 * its kind collides with networking.istio.io's) and HTTPRoute, served at v1 and v1beta1 like
 * the Gateway API's standard CRDs. Their spec schemas live in the gateway-api-*.ts files.
 */
import { kubernetesGatewaySpec } from './gateway-api-gateway.js';
import { httpRouteSpec } from './gateway-api-httproute.js';
import type { ResourceDefinition } from './types.js';

export type {
  BackendObjectReference,
  LabelSelector,
  ParentReference,
} from './gateway-api-common.js';
export type {
  AllowedRoutes,
  GatewayAddress,
  GatewayInfrastructure,
  GatewayTLS,
  GatewayTLSConfig,
  KubernetesGatewaySpec,
  Listener,
} from './gateway-api-gateway.js';
export { WAYPOINT_CLASS, WAYPOINT_LISTENER } from './gateway-api-gateway.js';
export type {
  HTTPCORSFilter,
  HTTPHeaderFilter,
  HTTPPathModifier,
  HTTPRequestMirrorFilter,
  HTTPRequestRedirectFilter,
  HTTPRouteFilter,
  HTTPRouteFilterType,
  HTTPURLRewriteFilter,
} from './gateway-api-filters.js';
export type {
  HTTPBackendRef,
  HTTPHeaderMatch,
  HTTPPathMatch,
  HTTPQueryParamMatch,
  HTTPRouteMatch,
  HTTPRouteRetry,
  HTTPRouteRule,
  HTTPRouteSpec,
  HTTPRouteTimeouts,
} from './gateway-api-httproute.js';
export { gatewayDurationMs } from './gateway-api-common.js';
export { kubernetesGatewaySpec, httpRouteSpec };

const GROUP = 'gateway.networking.k8s.io';
const VERSIONS = ['v1', 'v1beta1'];
const CATEGORIES = ['gateway-api'];

export const definitions: ResourceDefinition[] = [
  {
    type: 'KubernetesGateway',
    group: GROUP,
    kind: 'Gateway',
    versions: VERSIONS,
    plural: 'gateways',
    namespaced: true,
    spec: kubernetesGatewaySpec,
    shortNames: ['gtw'],
    categories: CATEGORIES,
  },
  {
    type: 'HTTPRoute',
    group: GROUP,
    kind: 'HTTPRoute',
    versions: VERSIONS,
    plural: 'httproutes',
    namespaced: true,
    spec: httpRouteSpec,
    categories: CATEGORIES,
  },
];
