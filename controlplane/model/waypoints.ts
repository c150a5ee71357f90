import { WAYPOINT_CLASS, WAYPOINT_LISTENER } from '../../api/resources/index.js';
import type { KubernetesGatewayResource, LabelSelector } from '../../api/resources/index.js';
import { selectorMatches } from '../ambient/selector.js';
import {
  GATEWAY_MANAGED,
  GATEWAY_MANAGED_EAST_WEST,
  GATEWAY_MANAGED_WAYPOINT,
  USE_WAYPOINT,
  USE_WAYPOINT_NAMESPACE,
  USE_WAYPOINT_NONE,
  WAYPOINT_FOR,
} from './labels.js';
import type { Labels, NamespaceInfo } from './namespaces.js';

/** Which traffic a waypoint takes (`istio.io/waypoint-for`); other values take none. */
export type WaypointTrafficType = 'service' | 'workload' | 'all' | 'none' | (string & {});

/** Where clients reach a waypoint: by hostname (usual) or by address. */
export type WaypointAddress =
  | { readonly kind: 'hostname'; readonly namespace: string; readonly hostname: string }
  | { readonly kind: 'ip'; readonly ip: string };

/** A Gateway of class `istio-waypoint`. */
export interface Waypoint {
  readonly namespace: string;
  readonly name: string;
  readonly trafficType: WaypointTrafficType;
  readonly address: WaypointAddress;
  /** Who may bind to it: the HBONE listener's `allowedRoutes.namespaces`. */
  readonly allowedFrom:
    | { readonly from: 'All' }
    | { readonly from: 'Same' }
    | { readonly from: 'Selector'; readonly selector: LabelSelector };
}

export interface WaypointRef {
  readonly namespace: string;
  readonly name: string;
}

/**
 * How traffic to one object meets its waypoint. Everything but `bound` means "no waypoint";
 * the other states say why, for `ambit analyze`.
 */
export type WaypointBinding =
  | { readonly state: 'none' }
  | { readonly state: 'bound'; readonly waypoint: Waypoint; readonly via: 'object' | 'namespace' }
  | { readonly state: 'missing'; readonly ref: WaypointRef; readonly via: 'object' | 'namespace' }
  | { readonly state: 'denied'; readonly waypoint: Waypoint; readonly via: 'object' | 'namespace' }
  | {
      readonly state: 'wrong-traffic-type';
      readonly waypoint: Waypoint;
      readonly via: 'object' | 'namespace';
      readonly wanted: 'service' | 'workload';
    };

const NO_WAYPOINT: WaypointBinding = { state: 'none' };

export function waypointKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/**
 * The waypoint a Gateway declares, if it is one. Istio waits for the Gateway's status to
 * carry an address (its deployer writes it once a waypoint pod is ready); Ambit serves
 * config without that round trip, so an absent status means the address the deployer
 * would give: the Service named after the Gateway.
 */
export function waypointFromGateway(
  gateway: KubernetesGatewayResource,
  domainSuffix: string,
): Waypoint | undefined {
  if (gateway.spec.gatewayClassName !== WAYPOINT_CLASS) return undefined;
  const namespace = gateway.metadata.namespace ?? 'default';
  const { name } = gateway.metadata;
  return {
    namespace,
    name,
    trafficType: gateway.metadata.labels?.[WAYPOINT_FOR] ?? 'service',
    address: statusAddress(gateway.status, namespace) ?? {
      kind: 'hostname',
      namespace,
      hostname: `${name}.${namespace}.svc.${domainSuffix}`,
    },
    allowedFrom: allowedFrom(gateway),
  };
}

/** Istio prefers a Hostname status address, then an IPAddress one. */
function statusAddress(status: unknown, namespace: string): WaypointAddress | undefined {
  if (typeof status !== 'object' || status === null || !('addresses' in status)) return undefined;
  const { addresses } = status;
  if (!Array.isArray(addresses)) return undefined;
  const typed = addresses.filter(
    (a): a is { type?: unknown; value: string } =>
      typeof a === 'object' && a !== null && typeof (a as { value?: unknown }).value === 'string',
  );
  const hostname = typed.find((a) => a.type === 'Hostname');
  if (hostname !== undefined) return { kind: 'hostname', namespace, hostname: hostname.value };
  const ip = typed.find((a) => a.type === 'IPAddress' || a.type === undefined);
  return ip === undefined ? undefined : { kind: 'ip', ip: ip.value };
}

function allowedFrom(gateway: KubernetesGatewayResource): Waypoint['allowedFrom'] {
  const hbone = gateway.spec.listeners.find(
    (l) => l.protocol === WAYPOINT_LISTENER.protocol && l.port === WAYPOINT_LISTENER.port,
  );
  const namespaces = hbone?.allowedRoutes.namespaces;
  switch (namespaces?.from) {
    case 'All':
      return { from: 'All' };
    case 'Selector':
      return { from: 'Selector', selector: namespaces.selector ?? {} };
    default:
      return { from: 'Same' };
  }
}

function allowsAttachment(waypoint: Waypoint, namespace: NamespaceInfo | undefined, name: string) {
  switch (waypoint.allowedFrom.from) {
    case 'All':
      return true;
    case 'Selector':
      return selectorMatches(waypoint.allowedFrom.selector, namespace?.labels ?? {});
    case 'Same':
      return waypoint.namespace === name;
  }
}

/** The waypoint an object's labels ask for: a reference, an explicit `none`, or nothing. */
function requested(labels: Labels, defaultNamespace: string): WaypointRef | 'none' | undefined {
  const name = labels[USE_WAYPOINT];
  if (name === undefined) return undefined;
  if (name === USE_WAYPOINT_NONE) return 'none';
  return { namespace: labels[USE_WAYPOINT_NAMESPACE] ?? defaultNamespace, name };
}

export interface WaypointTarget {
  readonly namespace: string;
  readonly labels: Labels;
}

/**
 * Finds the waypoint for an object (Istio's fetchWaypointForTarget): its own
 * `istio.io/use-waypoint` label wins (`none` opts out), else its namespace's label. The
 * waypoint must exist and accept attachment from the object's namespace.
 */
function bindTarget(
  target: WaypointTarget,
  namespace: NamespaceInfo | undefined,
  waypoints: ReadonlyMap<string, Waypoint>,
): WaypointBinding {
  let via: 'object' | 'namespace' = 'object';
  let ref = requested(target.labels, target.namespace);
  if (ref === 'none') return NO_WAYPOINT;
  if (ref === undefined && namespace !== undefined) {
    via = 'namespace';
    ref = requested(namespace.labels, target.namespace);
  }
  if (ref === undefined || ref === 'none') return NO_WAYPOINT;
  const waypoint = waypoints.get(waypointKey(ref.namespace, ref.name));
  if (waypoint === undefined) return { state: 'missing', ref, via };
  if (!allowsAttachment(waypoint, namespace, target.namespace)) {
    return { state: 'denied', waypoint, via };
  }
  return { state: 'bound', waypoint, via };
}

/** The waypoint for traffic addressed to a service (Istio's fetchWaypointForService). */
export function bindServiceWaypoint(
  target: WaypointTarget,
  namespace: NamespaceInfo | undefined,
  waypoints: ReadonlyMap<string, Waypoint>,
): WaypointBinding {
  // A waypoint's (or east-west gateway's) own Service is never captured by a waypoint.
  const managed = target.labels[GATEWAY_MANAGED];
  if (managed === GATEWAY_MANAGED_WAYPOINT || managed === GATEWAY_MANAGED_EAST_WEST) {
    return NO_WAYPOINT;
  }
  const binding = bindTarget(target, namespace, waypoints);
  if (binding.state !== 'bound') return binding;
  const { trafficType } = binding.waypoint;
  if (trafficType === 'service' || trafficType === 'all') return binding;
  return {
    state: 'wrong-traffic-type',
    waypoint: binding.waypoint,
    via: binding.via,
    wanted: 'service',
  };
}

/**
 * The waypoint for traffic addressed to a workload directly (Istio's
 * fetchWaypointForWorkload). A namespace-wide waypoint for services only is simply not a
 * workload waypoint; a workload's own label naming one is a mistake worth reporting.
 */
export function bindWorkloadWaypoint(
  target: WaypointTarget,
  namespace: NamespaceInfo | undefined,
  waypoints: ReadonlyMap<string, Waypoint>,
): WaypointBinding {
  const binding = bindTarget(target, namespace, waypoints);
  if (binding.state !== 'bound') return binding;
  const { trafficType } = binding.waypoint;
  if (trafficType === 'workload' || trafficType === 'all') return binding;
  if (binding.via === 'namespace') return NO_WAYPOINT;
  return {
    state: 'wrong-traffic-type',
    waypoint: binding.waypoint,
    via: binding.via,
    wanted: 'workload',
  };
}

/** The waypoint behind a binding, only when traffic really goes through it. */
export function boundWaypoint(binding: WaypointBinding): Waypoint | undefined {
  return binding.state === 'bound' ? binding.waypoint : undefined;
}
