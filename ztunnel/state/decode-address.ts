import type { Any } from '@bufbuild/protobuf/wkt';
import {
  LoadBalancing_HealthPolicy,
  LoadBalancing_Mode,
  NetworkMode,
  TunnelProtocol,
  WorkloadStatus,
  type GatewayAddress,
  type Port,
  type Service as ServiceMessage,
  type Workload as WorkloadMessage,
} from '../../api/gen/istio/workload/workload_pb.js';
import {
  ADDRESS_TYPE_URL,
  ResourceTypeMismatchError,
  unpackResource,
} from '../../api/xds/type-urls.js';
import { identityOf, type Identity } from '../../core/identity/spiffe.js';
import { InvalidResourceError } from './errors.js';
import { ipFromBytes, type Cidr } from '../../core/net/ip.js';
import type {
  PortMapping,
  Service,
  ServiceKey,
  Workload,
  WorkloadUid,
  WaypointRef,
} from './types.js';

/*
 * istio.workload.Address → the node tunnel's Workload and Service, with ztunnel's defaults
 * (src/state/workload.rs, src/state/service.rs): an empty trust domain is `cluster.local`, an
 * empty service account `default`, an empty cluster id `Kubernetes`. What ztunnel refuses
 * (bad address bytes, a waypoint without a destination, LEGACY_ISTIO_MTLS, a service key
 * without `/`) is refused here too; and so is a resource whose name is not the one the control
 * plane gives it (a workload's uid, a service's `namespace/hostname`), since removals arrive by
 * name alone.
 */

/** A workload as decoded; its waypoint is resolved against the whole state later. */
export type WorkloadRecord = Omit<Workload, 'waypoint'>;
export type ServiceRecord = Omit<Service, 'waypoint'>;

export type DecodedAddress =
  | { readonly kind: 'workload'; readonly workload: WorkloadRecord }
  | { readonly kind: 'service'; readonly service: ServiceRecord };

const DEFAULT_TRUST_DOMAIN = 'cluster.local';
const DEFAULT_SERVICE_ACCOUNT = 'default';
const DEFAULT_CLUSTER_ID = 'Kubernetes';

/** Decodes one Address resource; throws InvalidResourceError naming the resource. */
export function decodeAddress(name: string, resource: Any): DecodedAddress {
  const fail = (reason: string, cause?: unknown): never => {
    throw new InvalidResourceError(ADDRESS_TYPE_URL, name, reason, { cause });
  };
  let address;
  try {
    address = unpackResource(ADDRESS_TYPE_URL, resource);
  } catch (cause) {
    return fail(
      cause instanceof ResourceTypeMismatchError
        ? `it carries ${cause.actual}`
        : 'it does not decode',
      cause,
    );
  }
  switch (address.type.case) {
    case 'workload':
      return { kind: 'workload', workload: decodeWorkload(name, address.type.value, fail) };
    case 'service':
      return { kind: 'service', service: decodeService(name, address.type.value, fail) };
    default:
      return fail('it holds neither a workload nor a service');
  }
}

type Fail = (reason: string, cause?: unknown) => never;

function decodeWorkload(name: string, w: WorkloadMessage, fail: Fail): WorkloadRecord {
  if (w.uid !== name)
    fail(`the resource name differs from the workload uid ${JSON.stringify(w.uid)}`);
  const trustDomain = w.trustDomain || DEFAULT_TRUST_DOMAIN;
  const serviceAccount = w.serviceAccount || DEFAULT_SERVICE_ACCOUNT;
  let identity: Identity;
  try {
    identity = identityOf({ trustDomain, namespace: w.namespace, serviceAccount });
  } catch (cause) {
    return fail('its namespace, service account and trust domain make no SPIFFE identity', cause);
  }
  const waypointRef = w.waypoint && waypoint(w.waypoint, fail);
  return {
    uid: w.uid as WorkloadUid,
    name: w.name,
    namespace: w.namespace,
    serviceAccount,
    trustDomain,
    identity,
    addresses: w.addresses.map((bytes) => ip(bytes, 'an address', fail)),
    hostname: w.hostname,
    node: w.node,
    network: w.network,
    workloadName: w.workloadName,
    canonicalName: w.canonicalName,
    canonicalRevision: w.canonicalRevision,
    clusterId: w.clusterId || DEFAULT_CLUSTER_ID,
    protocol: tunnelProtocol(w.tunnelProtocol, fail),
    nativeTunnel: w.nativeTunnel,
    networkMode: networkMode(w.networkMode, fail),
    ...(waypointRef && { waypointRef }),
    healthy: health(w.status, fail),
    services: new Map(
      Object.entries(w.services).map(([key, list]) => {
        if (!key.includes('/'))
          fail(`service key ${JSON.stringify(key)} is not namespace/hostname`);
        return [key as ServiceKey, ports(list.ports, fail)] as const;
      }),
    ),
    authorizationPolicies: [...w.authorizationPolicies],
  };
}

function decodeService(name: string, s: ServiceMessage, fail: Fail): ServiceRecord {
  const key = `${s.namespace}/${s.hostname}`;
  if (key !== name) fail(`the resource name differs from the service's ${JSON.stringify(key)}`);
  const vips: string[] = [];
  const cidrVips: Cidr[] = [];
  for (const address of s.addresses) {
    const text = ip(address.address, 'an address', fail);
    const max = address.address.length * 8;
    // A prefix shorter than the whole address makes the VIP a block (ztunnel's cidr_vips).
    if (address.length === undefined || address.length === max) vips.push(text);
    else if (address.length < max) cidrVips.push({ address: text, length: address.length });
    else fail(`address ${text} has prefix length ${address.length}`);
  }
  const waypointRef = s.waypoint && waypoint(s.waypoint, fail);
  return {
    key: key as ServiceKey,
    name: s.name,
    namespace: s.namespace,
    hostname: s.hostname,
    vips,
    cidrVips,
    ports: ports(s.ports, fail),
    ...(waypointRef && { waypointRef }),
    subjectAltNames: [...s.subjectAltNames],
    passthrough: s.loadBalancing?.mode === LoadBalancing_Mode.PASSTHROUGH,
    allowUnhealthy: s.loadBalancing?.healthPolicy === LoadBalancing_HealthPolicy.ALLOW_ALL,
  };
}

function waypoint(g: GatewayAddress, fail: Fail): WaypointRef {
  const port = portNumber(g.hboneMtlsPort, 'the waypoint HBONE port', fail);
  switch (g.destination.case) {
    case 'address':
      return {
        kind: 'address',
        network: g.destination.value.network,
        address: ip(g.destination.value.address, 'the waypoint address', fail),
        hboneMtlsPort: port,
      };
    case 'hostname':
      return {
        kind: 'hostname',
        namespace: g.destination.value.namespace,
        hostname: g.destination.value.hostname,
        hboneMtlsPort: port,
      };
    default:
      return fail('the waypoint has neither an address nor a hostname');
  }
}

function ports(list: readonly Port[], fail: Fail): PortMapping[] {
  return list.map((p) => ({
    servicePort: portNumber(p.servicePort, 'a service port', fail),
    targetPort: portNumber(p.targetPort, 'a target port', fail),
  }));
}

function portNumber(value: number, what: string, fail: Fail): number {
  if (value > 65535) fail(`${what} is ${value}`);
  return value;
}

function ip(bytes: Uint8Array, what: string, fail: Fail): string {
  return ipFromBytes(bytes) ?? fail(`${what} is ${bytes.length} bytes long, not 4 or 16`);
}

function tunnelProtocol(value: TunnelProtocol, fail: Fail): Workload['protocol'] {
  if (value === TunnelProtocol.HBONE) return 'HBONE';
  if (value === TunnelProtocol.NONE) return 'NONE';
  return fail(`tunnel protocol ${TunnelProtocol[value] ?? value} is not supported`);
}

function networkMode(value: NetworkMode, fail: Fail): Workload['networkMode'] {
  if (value === NetworkMode.STANDARD) return 'STANDARD';
  if (value === NetworkMode.HOST_NETWORK) return 'HOST_NETWORK';
  return fail(`network mode ${value} is unknown`);
}

function health(value: WorkloadStatus, fail: Fail): boolean {
  if (value === WorkloadStatus.HEALTHY) return true;
  if (value === WorkloadStatus.UNHEALTHY) return false;
  return fail(`status ${value} is unknown`);
}
