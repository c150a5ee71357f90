import { create, type MessageInitShape } from '@bufbuild/protobuf';
import {
  AuthorizationSchema,
  type Authorization,
} from '../../../api/gen/istio/security/authorization_pb.js';
import {
  AddressSchema,
  GatewayAddressSchema,
  ServiceSchema,
  TunnelProtocol,
  WorkloadSchema,
  type Address,
  type GatewayAddress,
  type Service as ServiceMessage,
  type Workload as WorkloadMessage,
} from '../../../api/gen/istio/workload/workload_pb.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  packResource,
} from '../../../api/xds/type-urls.js';
import type { ResourceDelta, ResourceUpdate } from '../../../core/xds/client.js';
import { parseIp } from '../../../core/net/ip.js';

// Builders of real encoded workload API messages for tests of the state and of code that
// reads it: every resource goes through protobuf encoding and Any packing, as from the wire.

/** Raw bytes of an IP given as text; throws on a typo in a fixture. */
export function ipBytes(text: string): Uint8Array {
  const bytes = parseIp(text);
  if (bytes === undefined) throw new Error(`fixture address ${text} is not an IP`);
  return bytes;
}

// The plain-object branch of each init shape (not an already built message).
type WorkloadInit = Exclude<MessageInitShape<typeof WorkloadSchema>, WorkloadMessage>;
type ServiceInit = Exclude<MessageInitShape<typeof ServiceSchema>, ServiceMessage>;

/** A pod in the mesh: uid `Kubernetes//Pod/<ns>/<name>`, HBONE, healthy, addresses as text. */
export function workload(
  init: Omit<WorkloadInit, 'addresses'> & { name: string; ips?: readonly string[] },
): Address {
  const { ips = [], ...rest } = init;
  const namespace = rest.namespace ?? 'default';
  return create(AddressSchema, {
    type: {
      case: 'workload',
      value: create(WorkloadSchema, {
        uid: `Kubernetes//Pod/${namespace}/${init.name}`,
        namespace,
        serviceAccount: init.name,
        tunnelProtocol: TunnelProtocol.HBONE,
        ...rest,
        addresses: ips.map(ipBytes),
      }),
    },
  });
}

/** A service named `<ns>/<hostname>`, VIPs as text. */
export function service(
  init: Omit<ServiceInit, 'addresses'> & { name: string; vips?: readonly string[] },
): Address {
  const { vips = [], ...rest } = init;
  const namespace = rest.namespace ?? 'default';
  return create(AddressSchema, {
    type: {
      case: 'service',
      value: create(ServiceSchema, {
        namespace,
        hostname: `${init.name}.${namespace}.svc.cluster.local`,
        ...rest,
        addresses: vips.map((vip) => ({ address: ipBytes(vip) })),
      }),
    },
  });
}

/** A waypoint named the way Ambit's control plane names it: by its service's hostname. */
export function waypointByHostname(namespace: string, hostname: string): GatewayAddress {
  return create(GatewayAddressSchema, {
    destination: { case: 'hostname', value: { namespace, hostname } },
    hboneMtlsPort: 15008,
  });
}

/** The resource name the control plane gives an Address: the uid, or `namespace/hostname`. */
export function addressName(address: Address): string {
  const { type } = address;
  if (type.case === 'workload') return type.value.uid;
  if (type.case === 'service') return `${type.value.namespace}/${type.value.hostname}`;
  throw new Error('fixture address has no type');
}

function update(resource: ResourceUpdate['resource']): ResourceUpdate {
  return { version: 'v1', resource };
}

/** A delta of Address upserts named as the control plane names them, and removals. */
export function addressDelta(
  upserts: readonly Address[],
  removals: readonly string[] = [],
): ResourceDelta {
  return {
    upserts: new Map(
      upserts.map((a) => [addressName(a), update(packResource(ADDRESS_TYPE_URL, a))]),
    ),
    removals,
  };
}

/** A delta of Authorization upserts (named `namespace/name`) and removals. */
export function authorizationDelta(
  upserts: readonly (Authorization | MessageInitShape<typeof AuthorizationSchema>)[],
  removals: readonly string[] = [],
): ResourceDelta {
  return {
    upserts: new Map(
      upserts.map((init) => {
        const policy = create(AuthorizationSchema, init);
        return [
          `${policy.namespace}/${policy.name}`,
          update(packResource(AUTHORIZATION_TYPE_URL, policy)),
        ];
      }),
    ),
    removals,
  };
}
