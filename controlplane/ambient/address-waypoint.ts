import { create } from '@bufbuild/protobuf';
import {
  GatewayAddressSchema,
  NamespacedHostnameSchema,
  NetworkAddressSchema,
} from '../../api/gen/istio/workload/workload_pb.js';
import type { GatewayAddress } from '../../api/gen/istio/workload/workload_pb.js';
import { WAYPOINT_LISTENER } from '../../api/resources/index.js';
import type { WaypointBinding } from '../model/waypoints.js';
import { parseIp } from '../../core/net/ip.js';

/**
 * Where clients send traffic for a bound waypoint, or undefined when there is none (also
 * when the waypoint named does not exist: the traffic then goes direct, as in Istio).
 */
export function waypointAddress(
  binding: WaypointBinding,
  network: string,
): GatewayAddress | undefined {
  if (binding.state !== 'bound') return undefined;
  const { address } = binding.waypoint;
  const hboneMtlsPort = WAYPOINT_LISTENER.port;
  if (address.kind === 'hostname') {
    return create(GatewayAddressSchema, {
      destination: {
        case: 'hostname',
        value: create(NamespacedHostnameSchema, {
          namespace: address.namespace,
          hostname: address.hostname,
        }),
      },
      hboneMtlsPort,
    });
  }
  const bytes = parseIp(address.ip);
  if (bytes === undefined) return undefined;
  return create(GatewayAddressSchema, {
    destination: {
      case: 'address',
      value: create(NetworkAddressSchema, { network, address: bytes }),
    },
    hboneMtlsPort,
  });
}
