import type { ServiceRecord, WorkloadRecord } from './decode-address.js';
import type { Cidr } from '../../core/net/ip.js';
import type { Service, Waypoint, WaypointRef, Workload } from './types.js';

/**
 * The lookups the proxy makes, derived from every workload and service held. Rebuilt whole
 * after each change: waypoints named by hostname resolve against services that may arrive
 * later than the workloads naming them, and a rebuild keeps every view consistent.
 */
export interface AddressIndex {
  readonly workloads: ReadonlyMap<string, Workload>;
  readonly workloadsByIp: ReadonlyMap<string, Workload>;
  /** By `namespace/name`. */
  readonly workloadsByName: ReadonlyMap<string, Workload>;
  readonly services: ReadonlyMap<string, Service>;
  readonly servicesByVip: ReadonlyMap<string, Service>;
  readonly cidrServices: readonly { readonly cidr: Cidr; readonly service: Service }[];
  /** Service key → the workloads whose `services` list it, healthy or not. */
  readonly members: ReadonlyMap<string, readonly Workload[]>;
}

export function buildIndex(
  workloadRecords: ReadonlyMap<string, WorkloadRecord>,
  serviceRecords: ReadonlyMap<string, ServiceRecord>,
): AddressIndex {
  const withWaypoint = <T extends { readonly waypointRef?: WaypointRef }>(record: T) => {
    if (record.waypointRef === undefined) return record;
    const waypoint = resolveWaypoint(record.waypointRef, serviceRecords);
    return waypoint === undefined ? record : { ...record, waypoint };
  };

  const services = new Map<string, Service>();
  const servicesByVip = new Map<string, Service>();
  const cidrServices: { cidr: Cidr; service: Service }[] = [];
  for (const [name, record] of serviceRecords) {
    const service: Service = withWaypoint(record);
    services.set(name, service);
    // Two services on one VIP: the first keeps it (ztunnel prefers the client's namespace,
    // which a lookup by address alone does not know).
    for (const vip of service.vips) if (!servicesByVip.has(vip)) servicesByVip.set(vip, service);
    for (const cidr of service.cidrVips) cidrServices.push({ cidr, service });
  }
  // Longest prefix first, so the first block that holds an address is the most specific.
  cidrServices.sort((a, b) => b.cidr.length - a.cidr.length);

  const workloads = new Map<string, Workload>();
  const workloadsByIp = new Map<string, Workload>();
  const workloadsByName = new Map<string, Workload>();
  const members = new Map<string, Workload[]>();
  const claim = (map: Map<string, Workload>, key: string, workload: Workload) => {
    const held = map.get(key);
    if (held === undefined || rank(workload) >= rank(held)) map.set(key, workload);
  };
  for (const [name, record] of workloadRecords) {
    const workload: Workload = withWaypoint(record);
    workloads.set(name, workload);
    // A host-network workload shares its node's address; that address does not name it.
    if (workload.networkMode === 'STANDARD') {
      for (const ip of workload.addresses) claim(workloadsByIp, ip, workload);
    }
    claim(workloadsByName, `${workload.namespace}/${workload.name}`, workload);
    for (const key of workload.services.keys()) {
      const list = members.get(key);
      if (list === undefined) members.set(key, [workload]);
      else list.push(workload);
    }
  }
  return {
    workloads,
    workloadsByIp,
    workloadsByName,
    services,
    servicesByVip,
    cidrServices,
    members,
  };
}

/**
 * Which of several workloads an address names (ztunnel's WorkloadByAddr::get): a pod over
 * other kinds, then one in the mesh; among equals the one received last.
 */
function rank(workload: Workload): number {
  return (workload.uid.includes('//Pod/') ? 2 : 0) + (workload.protocol === 'HBONE' ? 1 : 0);
}

/** An address is used as given; a hostname is the first VIP of that service, if it is known. */
function resolveWaypoint(
  ref: WaypointRef,
  services: ReadonlyMap<string, ServiceRecord>,
): Waypoint | undefined {
  if (ref.kind === 'address') return { address: ref.address, hboneMtlsPort: ref.hboneMtlsPort };
  const vip = services.get(`${ref.namespace}/${ref.hostname}`)?.vips[0];
  return vip === undefined ? undefined : { address: vip, hboneMtlsPort: ref.hboneMtlsPort };
}
