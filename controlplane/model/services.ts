import type { ServiceEntryResource, ServiceResource } from '../../api/resources/index.js';
import type { Labels, NamespaceInfo } from './namespaces.js';
import { trafficDistribution } from './traffic-distribution.js';
import type { TrafficDistribution } from './traffic-distribution.js';
import { bindServiceWaypoint } from './waypoints.js';
import type { Waypoint, WaypointBinding } from './waypoints.js';

export interface MeshServicePort {
  readonly name: string | undefined;
  /** The port clients address. */
  readonly port: number;
  /** The port workloads listen on; 0 when it is named and so differs per workload. */
  readonly targetPort: number;
  /** A Kubernetes Service's named targetPort, resolved against each workload's ports. */
  readonly targetPortName: string | undefined;
  /** Kubernetes: TCP/UDP/SCTP; ServiceEntry: the Istio protocol (HTTP, TLS, …). */
  readonly protocol: string | undefined;
  readonly appProtocol: string | undefined;
}

/** A service port as one workload serves it. */
export interface PortMapping {
  readonly servicePort: number;
  readonly targetPort: number;
}

/** A workload behind a service, with the ports it serves it on. */
export interface ServiceEndpoint<W = unknown> {
  readonly workload: W;
  readonly ports: readonly PortMapping[];
}

/**
 * One hostname clients can reach: a Kubernetes Service, or one host of a ServiceEntry. When
 * several objects claim a hostname only one per namespace survives (Istio's rules), so
 * `namespace/hostname` is unique.
 */
export interface MeshService {
  readonly source: 'Service' | 'ServiceEntry';
  readonly namespace: string;
  readonly name: string;
  readonly hostname: string;
  readonly labels: Labels;
  readonly annotations: Labels;
  /** The labels of the workloads it selects; undefined when it selects none by label. */
  readonly selector: Labels | undefined;
  /** Virtual IPs (Service) or IPs and CIDRs (ServiceEntry). */
  readonly addresses: readonly string[];
  readonly ports: readonly MeshServicePort[];
  /** Which endpoints clients prefer (Istio's GetTrafficDistribution). */
  readonly trafficDistribution: TrafficDistribution;
  /** internalTrafficPolicy Local: clients use only endpoints on their own node. */
  readonly nodeLocal: boolean;
  /** publishNotReadyAddresses: clients may use endpoints that are not ready. */
  readonly publishNotReadyAddresses: boolean;
  readonly waypoint: WaypointBinding;
  /** Wins lookups of its hostname for clients whose namespace has no service of that name. */
  readonly canonical: boolean;
  readonly resource: ServiceResource | ServiceEntryResource;
}

export function serviceKey(namespace: string, hostname: string): string {
  return `${namespace}/${hostname}`;
}

export function kubernetesServiceHostname(name: string, namespace: string, domainSuffix: string) {
  return `${name}.${namespace}.svc.${domainSuffix}`;
}

function nonEmpty(labels: Labels | undefined): Labels | undefined {
  return labels !== undefined && Object.keys(labels).length > 0 ? labels : undefined;
}

/** A Kubernetes Service; ExternalName services are DNS aliases the mesh does not model. */
export function kubernetesService(
  resource: ServiceResource,
  namespace: NamespaceInfo | undefined,
  waypoints: ReadonlyMap<string, Waypoint>,
  domainSuffix: string,
): MeshService | undefined {
  const { spec, metadata } = resource;
  if (spec.type === 'ExternalName') return undefined;
  const ns = metadata.namespace ?? 'default';
  const labels = metadata.labels ?? {};
  const annotations = metadata.annotations ?? {};
  const clusterIPs =
    spec.clusterIPs !== undefined && spec.clusterIPs.length > 0
      ? spec.clusterIPs
      : [spec.clusterIP ?? ''];
  return {
    source: 'Service',
    namespace: ns,
    name: metadata.name,
    hostname: kubernetesServiceHostname(metadata.name, ns, domainSuffix),
    labels,
    annotations,
    selector: nonEmpty(spec.selector),
    addresses: clusterIPs.filter((ip) => ip !== '' && ip !== 'None'),
    ports: (spec.ports ?? []).map((p) => ({
      name: p.name,
      port: p.port,
      // Kubernetes defaults an absent targetPort to the port itself.
      targetPort: typeof p.targetPort === 'string' ? 0 : (p.targetPort ?? p.port),
      targetPortName: typeof p.targetPort === 'string' ? p.targetPort : undefined,
      protocol: p.protocol,
      appProtocol: p.appProtocol,
    })),
    trafficDistribution: trafficDistribution(
      spec.trafficDistribution,
      annotations,
      namespace?.annotations,
    ),
    nodeLocal: spec.internalTrafficPolicy === 'Local',
    publishNotReadyAddresses: spec.publishNotReadyAddresses ?? false,
    waypoint: bindServiceWaypoint({ namespace: ns, labels }, namespace, waypoints),
    canonical: true,
    resource,
  };
}

/** The services of a ServiceEntry: one per host, sharing ports, addresses and waypoint. */
export function serviceEntryServices(
  resource: ServiceEntryResource,
  namespace: NamespaceInfo | undefined,
  waypoints: ReadonlyMap<string, Waypoint>,
): MeshService[] {
  const { spec, metadata } = resource;
  const ns = metadata.namespace ?? 'default';
  const labels = metadata.labels ?? {};
  const annotations = metadata.annotations ?? {};
  const waypoint = bindServiceWaypoint({ namespace: ns, labels }, namespace, waypoints);
  // A ServiceEntry has no spec field for it; only the annotations choose.
  const distribution = trafficDistribution(undefined, annotations, namespace?.annotations);
  const ports: MeshServicePort[] = (spec.ports ?? []).map((p) => ({
    name: p.name,
    port: p.number,
    targetPort: p.targetPort ?? p.number,
    targetPortName: undefined,
    protocol: p.protocol,
    appProtocol: undefined,
  }));
  return spec.hosts.map((hostname) => ({
    source: 'ServiceEntry',
    namespace: ns,
    name: metadata.name,
    hostname,
    labels,
    annotations,
    selector: nonEmpty(spec.workloadSelector?.labels),
    addresses: spec.addresses ?? [],
    ports,
    trafficDistribution: distribution,
    nodeLocal: false,
    publishNotReadyAddresses: false,
    waypoint,
    canonical: false,
    resource,
  }));
}

/** A ServiceEntry host that lost its hostname to another object. */
export interface ShadowedService {
  readonly service: MeshService;
  readonly by: MeshService;
}

/** Code-point order: the same everywhere, unlike localeCompare. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function age(service: MeshService): string {
  return service.resource.metadata.creationTimestamp ?? '';
}

/** Older first; objects without a creation time (from files) by namespace and name. */
function compareAge(a: MeshService, b: MeshService): number {
  return (
    compareText(age(a), age(b)) ||
    compareText(a.namespace, b.namespace) ||
    compareText(a.name, b.name)
  );
}

/**
 * Istio's choice among objects claiming one hostname (selectWorkloadServices): per
 * namespace a Kubernetes Service wins, else the oldest ServiceEntry; across namespaces a
 * Kubernetes Service is canonical, else the oldest surviving ServiceEntry.
 */
export function selectServices(candidates: readonly MeshService[]): {
  services: MeshService[];
  shadowed: ShadowedService[];
} {
  const byHostname = new Map<string, MeshService[]>();
  for (const service of candidates) {
    const group = byHostname.get(service.hostname);
    if (group === undefined) byHostname.set(service.hostname, [service]);
    else group.push(service);
  }
  const services: MeshService[] = [];
  const shadowed: ShadowedService[] = [];
  for (const group of byHostname.values()) {
    const best = new Map<string, MeshService>();
    for (const service of [...group].sort(compareAge)) {
      const current = best.get(service.namespace);
      if (current === undefined) best.set(service.namespace, service);
      else if (service.source === 'Service' && current.source !== 'Service') {
        best.set(service.namespace, service);
        shadowed.push({ service: current, by: service });
      } else shadowed.push({ service, by: current });
    }
    const winners = [...best.values()].sort(compareAge);
    const canonical = winners.find((s) => s.source === 'Service') ?? winners[0];
    for (const service of winners) {
      services.push(
        service === canonical && !service.canonical ? { ...service, canonical: true } : service,
      );
    }
  }
  services.sort(
    (a, b) => compareText(a.namespace, b.namespace) || compareText(a.hostname, b.hostname),
  );
  return { services, shadowed };
}
