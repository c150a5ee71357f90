import type {
  AnyResource,
  AuthorizationPolicyResource,
  DestinationRuleResource,
  GatewayResource,
  HTTPRouteResource,
  KubernetesGatewayResource,
  PeerAuthenticationResource,
  RequestAuthenticationResource,
  ResourceOf,
  TelemetryResource,
  ResourceType,
  SecretResource,
  VirtualServiceResource,
} from '../../api/resources/index.js';
import type { ModelIssue, ObjectRef } from './issues.js';
import { meshSettings, type MeshSettings } from './mesh-config.js';
import { namespaceInfo } from './namespaces.js';
import type { NamespaceInfo } from './namespaces.js';
import {
  compareText,
  kubernetesService,
  selectServices,
  serviceEntryServices,
  serviceKey,
} from './services.js';
import type { MeshService, ServiceEndpoint } from './services.js';
import { waypointFromGateway, waypointKey } from './waypoints.js';
import type { Waypoint, WaypointBinding } from './waypoints.js';
import { podWorkload, serviceEntryEndpoints, workloadEntryWorkload } from './workloads.js';
import type {
  MeshWorkload,
  PodWorkload,
  ServiceEntryEndpoint,
  WorkloadContext,
  WorkloadEntryWorkload,
} from './workloads.js';

export interface MeshModelOptions {
  /** The cluster's DNS suffix for Service hostnames; default `cluster.local`. */
  readonly domainSuffix?: string;
  /** Where mesh-wide config (the `istio` ConfigMap) lives; default `istio-system`. */
  readonly rootNamespace?: string;
}

/**
 * The mesh as config describes it: who runs where, which services they back, which
 * waypoints they use, which policies exist. Built whole from resources by a pure function,
 * so every consumer sees one consistent state.
 */
export interface MeshModel {
  readonly domainSuffix: string;
  /** Istio's MeshConfig in force (defaults when the root namespace has none). */
  readonly mesh: MeshSettings;
  readonly namespaces: ReadonlyMap<string, NamespaceInfo>;
  /** Keyed `namespace/name`. */
  readonly waypoints: ReadonlyMap<string, Waypoint>;
  /** Ordered by namespace, then hostname. */
  readonly services: readonly MeshService[];
  /** Workloads behind each service, keyed `namespace/hostname`. */
  readonly endpoints: ReadonlyMap<string, readonly ServiceEndpoint<MeshWorkload>[]>;
  readonly pods: readonly PodWorkload[];
  readonly workloadEntries: readonly WorkloadEntryWorkload[];
  readonly serviceEntryEndpoints: readonly ServiceEntryEndpoint[];
  readonly authorizationPolicies: readonly AuthorizationPolicyResource[];
  readonly peerAuthentications: readonly PeerAuthenticationResource[];
  /** JWT rules; only the waypoint compiler reads them (the node tunnel sees no requests). */
  readonly requestAuthentications: readonly RequestAuthenticationResource[];
  /** Routing config the waypoint compiler reads (controlplane/waypoint), by namespace and name. */
  readonly virtualServices: readonly VirtualServiceResource[];
  readonly destinationRules: readonly DestinationRuleResource[];
  readonly httpRoutes: readonly HTTPRouteResource[];
  /** What the ingress gateway compiler reads (controlplane/gateway). */
  readonly gateways: readonly GatewayResource[];
  readonly kubernetesGateways: readonly KubernetesGatewayResource[];
  readonly secrets: readonly SecretResource[];
  /** Istio Telemetry resources (compiled for waypoints by controlplane/waypoint/telemetry.ts). */
  readonly telemetries: readonly TelemetryResource[];
  readonly issues: readonly ModelIssue[];
}

function ofType<T extends ResourceType>(
  resources: readonly AnyResource[],
  type: T,
): ResourceOf<T>[] {
  return resources
    .filter((r): r is ResourceOf<T> => r.type === type)
    .sort(
      (a, b) =>
        compareText(a.metadata.namespace ?? '', b.metadata.namespace ?? '') ||
        compareText(a.metadata.name, b.metadata.name),
    );
}

export function buildModel(
  resources: Iterable<AnyResource>,
  options: MeshModelOptions = {},
): MeshModel {
  const domainSuffix = options.domainSuffix ?? 'cluster.local';
  const all = [...resources];

  const namespaces = new Map<string, NamespaceInfo>();
  for (const ns of ofType(all, 'Namespace')) namespaces.set(ns.metadata.name, namespaceInfo(ns));

  const waypoints = new Map<string, Waypoint>();
  for (const gateway of ofType(all, 'KubernetesGateway')) {
    const waypoint = waypointFromGateway(gateway, domainSuffix);
    if (waypoint !== undefined)
      waypoints.set(waypointKey(waypoint.namespace, waypoint.name), waypoint);
  }

  const serviceEntries = ofType(all, 'ServiceEntry');
  const candidates: MeshService[] = [];
  for (const service of ofType(all, 'Service')) {
    const ns = namespaces.get(service.metadata.namespace ?? 'default');
    const mesh = kubernetesService(service, ns, waypoints, domainSuffix);
    if (mesh !== undefined) candidates.push(mesh);
  }
  for (const entry of serviceEntries) {
    candidates.push(
      ...serviceEntryServices(
        entry,
        namespaces.get(entry.metadata.namespace ?? 'default'),
        waypoints,
      ),
    );
  }
  const { services, shadowed } = selectServices(candidates);

  const ctx: WorkloadContext = { namespaces, waypoints, services };
  const pods = ofType(all, 'Pod').map((pod) => podWorkload(pod, ctx));
  const workloadEntries = ofType(all, 'WorkloadEntry').map((we) => workloadEntryWorkload(we, ctx));
  const entryEndpoints = serviceEntries.flatMap((entry) =>
    serviceEntryEndpoints(
      entry,
      services.filter((s) => s.resource === entry),
      ctx,
    ),
  );

  const endpoints = new Map<string, ServiceEndpoint<MeshWorkload>[]>();
  for (const workload of [...pods, ...workloadEntries, ...entryEndpoints]) {
    for (const { service, ports } of workload.services) {
      const key = serviceKey(service.namespace, service.hostname);
      const list = endpoints.get(key) ?? [];
      list.push({ workload, ports });
      endpoints.set(key, list);
    }
  }

  const issues = new IssueList();
  for (const service of services) {
    issues.binding(service.waypoint, ref(service.resource.type, service.namespace, service.name));
  }
  for (const { service, by } of shadowed) {
    issues.add({
      code: 'ServiceHostnameShadowed',
      object: ref(service.resource.type, service.namespace, service.name),
      hostname: service.hostname,
      by: ref(by.resource.type, by.namespace, by.name),
    });
  }
  for (const pod of pods) issues.binding(pod.waypoint, ref('Pod', pod.namespace, pod.name));
  for (const we of workloadEntries) {
    issues.binding(we.waypoint, ref('WorkloadEntry', we.namespace, we.name));
  }
  for (const ep of entryEndpoints) {
    issues.binding(ep.waypoint, ref('ServiceEntry', ep.namespace, ep.name));
  }

  return {
    domainSuffix,
    mesh: meshSettings(all, options.rootNamespace ?? 'istio-system'),
    namespaces,
    waypoints,
    services,
    endpoints,
    pods,
    workloadEntries,
    serviceEntryEndpoints: entryEndpoints,
    authorizationPolicies: ofType(all, 'AuthorizationPolicy'),
    peerAuthentications: ofType(all, 'PeerAuthentication'),
    requestAuthentications: ofType(all, 'RequestAuthentication'),
    virtualServices: ofType(all, 'VirtualService'),
    destinationRules: ofType(all, 'DestinationRule'),
    httpRoutes: ofType(all, 'HTTPRoute'),
    gateways: ofType(all, 'Gateway'),
    kubernetesGateways: ofType(all, 'KubernetesGateway'),
    secrets: ofType(all, 'Secret'),
    telemetries: ofType(all, 'Telemetry'),
    issues: issues.list,
  };
}

function ref(type: ResourceType, namespace: string, name: string): ObjectRef {
  return { type, namespace, name };
}

/** Issues without repeats: a namespace-wide label gone wrong is one issue, on the namespace. */
class IssueList {
  readonly list: ModelIssue[] = [];
  private readonly seen = new Set<string>();

  add(issue: ModelIssue): void {
    const key = JSON.stringify(issue);
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.list.push(issue);
  }

  binding(binding: WaypointBinding, object: ObjectRef): void {
    if (binding.state === 'none' || binding.state === 'bound') return;
    const on = binding.via === 'namespace' ? ref('Namespace', '', object.namespace) : object;
    switch (binding.state) {
      case 'missing':
        this.add({ code: 'WaypointNotFound', object: on, waypoint: binding.ref });
        return;
      case 'denied':
        this.add({ code: 'WaypointAttachmentDenied', object, waypoint: wref(binding.waypoint) });
        return;
      case 'wrong-traffic-type':
        this.add({
          code: 'WaypointTrafficTypeMismatch',
          object: on,
          waypoint: wref(binding.waypoint),
          wanted: binding.wanted,
        });
        return;
    }
  }
}

function wref(waypoint: Waypoint) {
  return { namespace: waypoint.namespace, name: waypoint.name };
}
