import { create } from '@bufbuild/protobuf';
import {
  LocalitySchema,
  NetworkMode,
  PortListSchema,
  PortSchema,
  TunnelProtocol,
  WorkloadSchema,
  WorkloadStatus,
  WorkloadType,
} from '../../api/gen/istio/workload/workload_pb.js';
import type { Locality, PortList, Workload } from '../../api/gen/istio/workload/workload_pb.js';
import {
  AMBIENT_REDIRECTION,
  AMBIENT_REDIRECTION_ENABLED,
  AUTO_REGISTRATION_GROUP,
  CANONICAL_NAME_LABELS,
  CANONICAL_REVISION_LABELS,
  TUNNEL,
  TUNNEL_HTTP,
  WORKLOAD_NAME,
} from '../model/labels.js';
import type { Labels } from '../model/namespaces.js';
import type {
  PodWorkload,
  ServiceEntryEndpoint,
  ServiceMembership,
  WorkloadEntryWorkload,
} from '../model/workloads.js';
import { parseIp } from '../../core/net/ip.js';
import { wireTrustDomain } from './address-options.js';
import type { AddressOptions } from './address-options.js';
import { waypointAddress } from './address-waypoint.js';
import { podUid, serviceEntryEndpointUid, serviceResourceName, workloadEntryUid } from './names.js';

/** Names the selector-scoped policies that apply to a workload with these labels. */
export type PolicyNamer = (namespace: string, labels: Labels) => string[];

function firstLabel(labels: Labels, keys: readonly string[]): string | undefined {
  for (const key of keys) if (Object.hasOwn(labels, key)) return labels[key];
  return undefined;
}

/** Telemetry names (Istio's CanonicalService): from the usual labels, else the workload name and `latest`. */
export function canonical(labels: Labels, workloadName: string) {
  return {
    canonicalName: firstLabel(labels, CANONICAL_NAME_LABELS) ?? workloadName,
    canonicalRevision: firstLabel(labels, CANONICAL_REVISION_LABELS) ?? 'latest',
  };
}

function services(memberships: readonly ServiceMembership[]): Record<string, PortList> {
  const out: Record<string, PortList> = {};
  for (const { service, ports } of memberships) {
    out[serviceResourceName(service.namespace, service.hostname)] = create(PortListSchema, {
      ports: ports.map((p) =>
        create(PortSchema, { servicePort: p.servicePort, targetPort: p.targetPort }),
      ),
    });
  }
  return out;
}

/**
 * Istio's setTunnelProtocol for objects that are not pods the node tunnel captures: HBONE
 * when the node agent marked them captured, or when they terminate HBONE themselves.
 */
function tunnel(labels: Labels, annotations: Labels) {
  if (labels[TUNNEL] === TUNNEL_HTTP) {
    return { tunnelProtocol: TunnelProtocol.HBONE, nativeTunnel: true };
  }
  if (annotations[AMBIENT_REDIRECTION] === AMBIENT_REDIRECTION_ENABLED) {
    return { tunnelProtocol: TunnelProtocol.HBONE, nativeTunnel: false };
  }
  return { tunnelProtocol: TunnelProtocol.NONE, nativeTunnel: false };
}

/** `region/zone/subzone`, any part optional. */
function locality(text: string | undefined): Locality | undefined {
  const [region = '', zone = '', subzone = ''] = (text ?? '').split('/');
  if (region === '' && zone === '' && subzone === '') return undefined;
  return create(LocalitySchema, { region, zone, subzone });
}

/** An address field that holds an IP or, failing that, a hostname. */
function addressOrHostname(address: string) {
  const bytes = parseIp(address);
  return bytes !== undefined ? { addresses: [bytes] } : { hostname: address };
}

/**
 * The Workload for a pod (Istio's podWorkloadBuilder), or undefined when it has no address
 * yet or has finished for good.
 */
export function podWorkloadMessage(
  pod: PodWorkload,
  options: AddressOptions,
  policies: PolicyNamer,
): Workload | undefined {
  if (pod.terminal || pod.ips.length === 0) return undefined;
  const addresses = pod.ips.map(parseIp).filter((b): b is Uint8Array => b !== undefined);
  if (addresses.length !== pod.ips.length) return undefined;
  const { workloadName } = pod;
  const waypoint = waypointAddress(pod.waypoint, options.network);
  const native = tunnel(pod.labels, pod.annotations);
  return create(WorkloadSchema, {
    uid: podUid(options.clusterId, pod.namespace, pod.name),
    name: pod.name,
    namespace: pod.namespace,
    addresses,
    network: options.network,
    // A captured pod is reached through the node tunnel, over HBONE.
    tunnelProtocol: pod.ambient ? TunnelProtocol.HBONE : native.tunnelProtocol,
    nativeTunnel: native.nativeTunnel,
    trustDomain: wireTrustDomain(options),
    serviceAccount: pod.serviceAccount,
    ...(waypoint !== undefined && { waypoint }),
    node: pod.node ?? '',
    ...canonical(pod.labels, workloadName),
    // Istio always says POD here, for clients that predate the other types.
    workloadType: WorkloadType.POD,
    workloadName,
    services: services(pod.services),
    authorizationPolicies: policies(pod.namespace, pod.labels),
    // A terminating pod may still report Ready; Istio marks it unhealthy all the same.
    status: pod.ready && !pod.terminating ? WorkloadStatus.HEALTHY : WorkloadStatus.UNHEALTHY,
    clusterId: options.clusterId,
    networkMode: pod.hostNetwork ? NetworkMode.HOST_NETWORK : NetworkMode.STANDARD,
  });
}

/** The Workload for a WorkloadEntry (Istio's workloadEntryWorkloadBuilder). */
export function workloadEntryMessage(
  entry: WorkloadEntryWorkload,
  options: AddressOptions,
  policies: PolicyNamer,
): Workload {
  const workloadName =
    entry.annotations[AUTO_REGISTRATION_GROUP] ?? entry.labels[WORKLOAD_NAME] ?? entry.name;
  const waypoint = waypointAddress(entry.waypoint, options.network);
  const where = locality(entry.locality);
  return create(WorkloadSchema, {
    uid: workloadEntryUid(options.clusterId, entry.namespace, entry.name),
    name: entry.name,
    namespace: entry.namespace,
    ...addressOrHostname(entry.address),
    network: entry.network || options.network,
    ...tunnel(entry.labels, entry.annotations),
    trustDomain: wireTrustDomain(options),
    serviceAccount: entry.serviceAccount ?? '',
    ...(waypoint !== undefined && { waypoint }),
    ...canonical(entry.labels, workloadName),
    workloadType: WorkloadType.POD,
    workloadName,
    services: services(entry.services),
    authorizationPolicies: policies(entry.namespace, entry.labels),
    status: WorkloadStatus.HEALTHY,
    clusterId: options.clusterId,
    ...(where !== undefined && { locality: where }),
    ...(entry.weight !== undefined && entry.weight > 0 && { capacity: entry.weight }),
  });
}

/** The Workload for one ServiceEntry endpoint (Istio's serviceEntryWorkloadBuilder). */
export function serviceEntryEndpointMessage(
  endpoint: ServiceEntryEndpoint,
  options: AddressOptions,
  policies: PolicyNamer,
): Workload {
  const { metadata } = endpoint.serviceEntry;
  const entryLabels = metadata.labels ?? {};
  const waypoint = waypointAddress(endpoint.waypoint, options.network);
  const where = locality(endpoint.locality);
  return create(WorkloadSchema, {
    uid: serviceEntryEndpointUid(
      options.clusterId,
      endpoint.namespace,
      endpoint.name,
      endpoint.address,
    ),
    name: endpoint.name,
    namespace: endpoint.namespace,
    ...addressOrHostname(endpoint.address),
    network: endpoint.network || options.network,
    ...tunnel(entryLabels, metadata.annotations ?? {}),
    trustDomain: wireTrustDomain(options),
    serviceAccount: endpoint.serviceAccount ?? '',
    ...(waypoint !== undefined && { waypoint }),
    ...canonical(entryLabels, endpoint.name),
    workloadType: WorkloadType.POD,
    workloadName: endpoint.name,
    services: services(endpoint.services),
    // Policies select a ServiceEntry's endpoints by the ServiceEntry's labels.
    authorizationPolicies: policies(endpoint.namespace, entryLabels),
    status: WorkloadStatus.HEALTHY,
    clusterId: options.clusterId,
    ...(where !== undefined && { locality: where }),
    ...(endpoint.weight !== undefined && endpoint.weight > 0 && { capacity: endpoint.weight }),
  });
}
