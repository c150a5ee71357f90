import type {
  PodPhase,
  PodResource,
  ServiceEntryResource,
  WorkloadEntryResource,
} from '../../api/resources/index.js';
import { selectorMatches } from '../ambient/selector.js';
import { isAmbientEnrolled } from './enrollment.js';
import { GATEWAY_NAME } from './labels.js';
import type { Labels, NamespaceInfo } from './namespaces.js';
import type { MeshService, MeshServicePort, PortMapping } from './services.js';
import { bindWorkloadWaypoint, waypointKey } from './waypoints.js';
import type { Waypoint, WaypointBinding } from './waypoints.js';
import { podWorkloadName } from './workload-name.js';

/** A service a workload backs, with the ports it serves it on. */
export interface ServiceMembership {
  readonly service: MeshService;
  readonly ports: readonly PortMapping[];
}

export interface PodWorkload {
  readonly kind: 'Pod';
  readonly namespace: string;
  readonly name: string;
  /** What telemetry calls the workload: its Deployment, StatefulSet, … (see workload-name.ts). */
  readonly workloadName: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  /** status.podIPs, else status.podIP. */
  readonly ips: readonly string[];
  readonly node: string | undefined;
  readonly serviceAccount: string;
  readonly hostNetwork: boolean;
  readonly phase: PodPhase | undefined;
  /** The Ready condition is True. */
  readonly ready: boolean;
  /** Succeeded or Failed: the pod will never run again. */
  readonly terminal: boolean;
  /** Its deletion was asked for (metadata.deletionTimestamp): it is shutting down. */
  readonly terminating: boolean;
  /** The node tunnel captures its traffic. */
  readonly ambient: boolean;
  /** The waypoint for traffic addressed to this pod. */
  readonly waypoint: WaypointBinding;
  /** The waypoint this pod runs, when it is one of a waypoint's instances. */
  readonly instanceOf: Waypoint | undefined;
  readonly services: readonly ServiceMembership[];
  readonly resource: PodResource;
}

export interface WorkloadEntryWorkload {
  readonly kind: 'WorkloadEntry';
  readonly namespace: string;
  readonly name: string;
  /** Metadata labels over spec labels, as Istio merges them. */
  readonly labels: Labels;
  readonly annotations: Labels;
  /** An IP, or a hostname resolved by clients. */
  readonly address: string;
  readonly ports: Readonly<Record<string, number>>;
  readonly network: string | undefined;
  readonly serviceAccount: string | undefined;
  readonly weight: number | undefined;
  readonly locality: string | undefined;
  readonly waypoint: WaypointBinding;
  readonly services: readonly ServiceMembership[];
  readonly resource: WorkloadEntryResource;
}

/**
 * One endpoint of a ServiceEntry: written inline under `endpoints`, or, for a DNS
 * ServiceEntry without endpoints, implied by each host (`implicit`).
 */
export interface ServiceEntryEndpoint {
  readonly kind: 'ServiceEntryEndpoint';
  readonly namespace: string;
  /** The ServiceEntry's name. */
  readonly name: string;
  readonly address: string;
  /** The endpoint's own labels (the ServiceEntry's labels are on `serviceEntry`). */
  readonly labels: Labels;
  readonly ports: Readonly<Record<string, number>>;
  readonly network: string | undefined;
  readonly serviceAccount: string | undefined;
  readonly weight: number | undefined;
  readonly locality: string | undefined;
  readonly implicit: boolean;
  readonly waypoint: WaypointBinding;
  readonly services: readonly ServiceMembership[];
  readonly serviceEntry: ServiceEntryResource;
}

export type MeshWorkload = PodWorkload | WorkloadEntryWorkload | ServiceEntryEndpoint;

function selects(service: MeshService, namespace: string, labels: Labels): boolean {
  return (
    service.namespace === namespace &&
    service.selector !== undefined &&
    selectorMatches({ matchLabels: service.selector }, labels)
  );
}

function sortedMemberships(memberships: ServiceMembership[]): ServiceMembership[] {
  const key = (m: ServiceMembership) => `${m.service.namespace}/${m.service.hostname}`;
  return memberships.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/**
 * The target port a pod serves a service port on (Istio's constructServices): a Kubernetes
 * named targetPort must match a TCP container port of that name, or the pod does not serve
 * that port at all; a ServiceEntry port is matched by its own name when a container port
 * has it.
 */
function podTargetPort(
  service: MeshService,
  port: MeshServicePort,
  containerPorts: ReadonlyMap<string, number>,
): number | undefined {
  if (port.targetPortName !== undefined) return containerPorts.get(port.targetPortName);
  if (service.source === 'ServiceEntry' && port.name !== undefined) {
    return containerPorts.get(port.name) ?? port.targetPort;
  }
  return port.targetPort;
}

/**
 * The same for a WorkloadEntry or ServiceEntry endpoint, whose `ports` map port names to
 * numbers (Istio's constructServicesFromWorkloadEntry).
 */
function entryTargetPort(
  service: MeshService,
  port: MeshServicePort,
  ports: Readonly<Record<string, number>>,
): number | undefined {
  const byName = (name: string | undefined) =>
    name !== undefined && Object.hasOwn(ports, name) ? ports[name] : undefined;
  if (port.targetPortName !== undefined) return byName(port.targetPortName);
  return byName(port.name) ?? port.targetPort;
}

function membership(
  service: MeshService,
  target: (port: MeshServicePort) => number | undefined,
): ServiceMembership {
  const ports: PortMapping[] = [];
  for (const port of service.ports) {
    const targetPort = target(port);
    if (targetPort !== undefined) ports.push({ servicePort: port.port, targetPort });
  }
  return { service, ports };
}

/**
 * TCP container ports by name (Istio's FindPortName): the pod's containers first, then its
 * native sidecars, the init containers that keep running (restartPolicy Always).
 */
function namedContainerPorts(pod: PodResource): Map<string, number> {
  const named = new Map<string, number>();
  const sidecars = (pod.spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always');
  for (const container of [...pod.spec.containers, ...sidecars]) {
    for (const port of container.ports ?? []) {
      if (port.name !== undefined && port.protocol === 'TCP' && !named.has(port.name)) {
        named.set(port.name, port.containerPort);
      }
    }
  }
  return named;
}

export interface WorkloadContext {
  readonly namespaces: ReadonlyMap<string, NamespaceInfo>;
  readonly waypoints: ReadonlyMap<string, Waypoint>;
  readonly services: readonly MeshService[];
}

export function podWorkload(resource: PodResource, ctx: WorkloadContext): PodWorkload {
  const { metadata, spec, status } = resource;
  const namespace = metadata.namespace ?? 'default';
  const labels = metadata.labels ?? {};
  const annotations = metadata.annotations ?? {};
  const hostNetwork = spec.hostNetwork ?? false;
  const ns = ctx.namespaces.get(namespace);
  const podIPs = (status?.podIPs ?? []).map((p) => p.ip);
  const ips = podIPs.length > 0 ? podIPs : status?.podIP ? [status.podIP] : [];
  const instanceName = labels[GATEWAY_NAME];
  const instanceOf =
    instanceName === undefined
      ? undefined
      : ctx.waypoints.get(waypointKey(namespace, instanceName));
  const containerPorts = namedContainerPorts(resource);
  const services = ctx.services
    // Istio lets Kubernetes Services and ServiceEntries (PILOT_ENABLE_SERVICEENTRY_SELECT_PODS,
    // on by default) select pods.
    .filter((service) => selects(service, namespace, labels))
    .map((service) => membership(service, (port) => podTargetPort(service, port, containerPorts)));
  const phase = status?.phase;
  return {
    kind: 'Pod',
    namespace,
    name: metadata.name,
    workloadName: podWorkloadName(metadata),
    labels,
    annotations,
    ips,
    node: spec.nodeName,
    serviceAccount: spec.serviceAccountName,
    hostNetwork,
    phase,
    ready: (status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    terminal: phase === 'Succeeded' || phase === 'Failed',
    terminating: metadata.deletionTimestamp !== undefined,
    ambient: isAmbientEnrolled({ labels, annotations, hostNetwork }, ns),
    // A waypoint's own pods are its implementation, never behind a waypoint themselves.
    waypoint:
      instanceOf !== undefined
        ? { state: 'none' }
        : bindWorkloadWaypoint({ namespace, labels }, ns, ctx.waypoints),
    instanceOf,
    services: sortedMemberships(services),
    resource,
  };
}

export function workloadEntryWorkload(
  resource: WorkloadEntryResource,
  ctx: WorkloadContext,
): WorkloadEntryWorkload {
  const { metadata, spec } = resource;
  const namespace = metadata.namespace ?? 'default';
  const labels = { ...(spec.labels ?? {}), ...(metadata.labels ?? {}) };
  const ports = spec.ports ?? {};
  const services = ctx.services
    // Kubernetes Services select WorkloadEntries too (PILOT_ENABLE_K8S_SELECT_WORKLOAD_ENTRIES).
    .filter((service) => selects(service, namespace, labels))
    .map((service) => membership(service, (port) => entryTargetPort(service, port, ports)));
  return {
    kind: 'WorkloadEntry',
    namespace,
    name: metadata.name,
    labels,
    annotations: metadata.annotations ?? {},
    address: spec.address ?? '',
    ports,
    network: spec.network,
    serviceAccount: spec.serviceAccount,
    weight: spec.weight,
    locality: spec.locality,
    waypoint: bindWorkloadWaypoint(
      { namespace, labels },
      ctx.namespaces.get(namespace),
      ctx.waypoints,
    ),
    services: sortedMemberships(services),
    resource,
  };
}

const DNS_RESOLUTIONS = new Set(['DNS', 'DNS_ROUND_ROBIN', 'DYNAMIC_DNS']);

/**
 * The endpoints of a ServiceEntry (Istio's serviceEntryWorkloadBuilder), given the services
 * of it that survived hostname selection. A ServiceEntry whose every host lost has none.
 */
export function serviceEntryEndpoints(
  resource: ServiceEntryResource,
  surviving: readonly MeshService[],
  ctx: WorkloadContext,
): ServiceEntryEndpoint[] {
  const { metadata, spec } = resource;
  const namespace = metadata.namespace ?? 'default';
  if (surviving.length === 0) return [];
  const explicit = spec.endpoints ?? [];
  const implicit =
    explicit.length === 0 &&
    DNS_RESOLUTIONS.has(spec.resolution ?? 'NONE') &&
    spec.workloadSelector === undefined;
  if (implicit) {
    // Each host is its own endpoint, resolved by DNS at the client.
    return surviving.map((service) => ({
      kind: 'ServiceEntryEndpoint',
      namespace,
      name: metadata.name,
      address: service.hostname,
      labels: {},
      ports: {},
      network: undefined,
      serviceAccount: undefined,
      weight: undefined,
      locality: undefined,
      implicit: true,
      waypoint: { state: 'none' },
      services: [membership(service, (port) => port.targetPort)],
      serviceEntry: resource,
    }));
  }
  const ns = ctx.namespaces.get(namespace);
  // A unix socket is reachable only on the proxy's own host; no node tunnel or waypoint can
  // connect to one elsewhere.
  const reachable = explicit.filter((e) => !(e.address ?? '').startsWith('unix://'));
  return reachable.map((endpoint) => {
    const labels = endpoint.labels ?? {};
    const ports = endpoint.ports ?? {};
    return {
      kind: 'ServiceEntryEndpoint',
      namespace,
      name: metadata.name,
      address: endpoint.address ?? '',
      labels,
      ports,
      network: endpoint.network,
      serviceAccount: endpoint.serviceAccount,
      weight: endpoint.weight,
      locality: endpoint.locality,
      implicit: false,
      // Istio binds each endpoint as an object named after the ServiceEntry with the
      // endpoint's own labels.
      waypoint: bindWorkloadWaypoint({ namespace, labels }, ns, ctx.waypoints),
      services: sortedMemberships(
        surviving.map((service) =>
          membership(service, (port) => entryTargetPort(service, port, ports)),
        ),
      ),
      serviceEntry: resource,
    };
  });
}
