/**
 * The networking.istio.io kinds: VirtualService, DestinationRule, Gateway, ServiceEntry and
 * WorkloadEntry. Their spec schemas live in the networking-*.ts files; this file names them
 * as resource definitions, served at v1, v1beta1 and v1alpha3 like Istio's CRDs.
 */
import type { ResourceDefinition } from './types.js';
import { destinationRuleSpec } from './networking-destination-rule.js';
import { gatewaySpec } from './networking-gateway.js';
import { serviceEntrySpec, workloadEntrySpec } from './networking-service-entry.js';
import { virtualServiceSpec } from './networking-virtual-service.js';

export type {
  VirtualServiceSpec,
  HTTPRoute,
  HTTPMatchRequest,
  HTTPRouteDestination,
  RouteDestination,
  HTTPRedirect,
  HTTPDirectResponse,
  HTTPRewrite,
  HTTPRetry,
  CorsPolicy,
  HTTPFaultInjection,
  HTTPMirrorPolicy,
  TLSRoute,
  TCPRoute,
  TLSMatchAttributes,
  L4MatchAttributes,
} from './networking-virtual-service.js';
export type {
  DestinationRuleSpec,
  TrafficPolicy,
  Subset,
  LoadBalancerSettings,
  ConsistentHashLB,
  LocalityLoadBalancerSetting,
  ConnectionPoolSettings,
  OutlierDetection,
  ClientTLSSettings,
} from './networking-destination-rule.js';
export type { GatewaySpec, Server, GatewayPort, ServerTLSSettings } from './networking-gateway.js';
export type {
  ServiceEntrySpec,
  ServiceEntryPort,
  WorkloadEntrySpec,
} from './networking-service-entry.js';
export type { Destination, StringMatch, Headers, Percent } from './networking-common.js';
export { RETRY_ON_POLICIES, GRPC_STATUS_NAMES } from './networking-virtual-service.js';
export {
  PORT_PROTOCOLS,
  parsePortProtocol,
  isHTTPProtocol,
  isTLSProtocol,
} from './networking-gateway.js';
export { hostSubsetOf, hostsOverlap, isWildcarded } from './networking-hosts.js';
export { headerValueProblem } from './networking-common.js';
export {
  virtualServiceSpec,
  destinationRuleSpec,
  gatewaySpec,
  serviceEntrySpec,
  workloadEntrySpec,
};

const GROUP = 'networking.istio.io';
const VERSIONS = ['v1', 'v1beta1', 'v1alpha3'];
const CATEGORIES = ['istio-io', 'networking-istio-io'];

export const definitions: ResourceDefinition[] = [
  {
    type: 'VirtualService',
    group: GROUP,
    kind: 'VirtualService',
    versions: VERSIONS,
    plural: 'virtualservices',
    namespaced: true,
    spec: virtualServiceSpec,
    shortNames: ['vs'],
    categories: CATEGORIES,
  },
  {
    type: 'DestinationRule',
    group: GROUP,
    kind: 'DestinationRule',
    versions: VERSIONS,
    plural: 'destinationrules',
    namespaced: true,
    spec: destinationRuleSpec,
    shortNames: ['dr'],
    categories: CATEGORIES,
  },
  {
    type: 'Gateway',
    group: GROUP,
    kind: 'Gateway',
    versions: VERSIONS,
    plural: 'gateways',
    namespaced: true,
    spec: gatewaySpec,
    // Istio turns each Gateway name into Envoy names that must be DNS labels.
    nameFormat: 'dns1123-label',
    shortNames: ['gw'],
    categories: CATEGORIES,
  },
  {
    type: 'ServiceEntry',
    group: GROUP,
    kind: 'ServiceEntry',
    versions: VERSIONS,
    plural: 'serviceentries',
    namespaced: true,
    spec: serviceEntrySpec,
    shortNames: ['se'],
    categories: CATEGORIES,
  },
  {
    type: 'WorkloadEntry',
    group: GROUP,
    kind: 'WorkloadEntry',
    versions: VERSIONS,
    plural: 'workloadentries',
    namespaced: true,
    spec: workloadEntrySpec,
    shortNames: ['we'],
    categories: CATEGORIES,
  },
];
