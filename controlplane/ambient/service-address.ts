import { create } from '@bufbuild/protobuf';
import {
  IPFamilies,
  LoadBalancing_HealthPolicy,
  LoadBalancing_Mode,
  LoadBalancing_Scope,
  LoadBalancingSchema,
  NetworkAddressSchema,
  PortSchema,
  ServiceSchema,
} from '../../api/gen/istio/workload/workload_pb.js';
import type {
  LoadBalancing,
  NetworkAddress,
  Port,
  Service,
} from '../../api/gen/istio/workload/workload_pb.js';
import { INGRESS_USE_WAYPOINT } from '../model/labels.js';
import type { Labels, NamespaceInfo } from '../model/namespaces.js';
import type { MeshService } from '../model/services.js';
import { ipPrefix } from './address-bytes.js';
import type { AddressOptions } from './address-options.js';
import { waypointAddress } from './address-waypoint.js';
import { kubernetesAppProtocol, serviceEntryAppProtocol } from './service-protocol.js';

function networkAddresses(addresses: readonly string[], network: string): NetworkAddress[] {
  const out: NetworkAddress[] = [];
  for (const text of addresses) {
    const prefix = ipPrefix(text);
    if (prefix === undefined) continue;
    out.push(
      create(NetworkAddressSchema, {
        network,
        address: prefix.address,
        ...(prefix.length !== undefined && { length: prefix.length }),
      }),
    );
  }
  return out;
}

function ports(service: MeshService): Port[] {
  return service.ports.map((port) =>
    create(PortSchema, {
      servicePort: port.port,
      targetPort: port.targetPort,
      appProtocol:
        service.source === 'Service'
          ? kubernetesAppProtocol(port)
          : serviceEntryAppProtocol(port.protocol),
    }),
  );
}

const ZONE_FIRST = [
  LoadBalancing_Scope.NETWORK,
  LoadBalancing_Scope.REGION,
  LoadBalancing_Scope.ZONE,
] as const;

/** Istio's presets: fail over from the closest endpoints outward, never refuse. */
function distributionPreference(service: MeshService): LoadBalancing | undefined {
  switch (service.trafficDistribution) {
    case 'PreferSameZone':
      return create(LoadBalancingSchema, {
        routingPreference: [...ZONE_FIRST],
        mode: LoadBalancing_Mode.FAILOVER,
      });
    case 'PreferSameNode':
      return create(LoadBalancingSchema, {
        routingPreference: [...ZONE_FIRST, LoadBalancing_Scope.SUBZONE, LoadBalancing_Scope.NODE],
        mode: LoadBalancing_Mode.FAILOVER,
      });
    case 'Any':
      return undefined;
  }
}

/** Istio's load balancing for a service (constructService, constructServiceEntries). */
function loadBalancing(service: MeshService): LoadBalancing | undefined {
  const { resource } = service;
  // Resolution NONE: the client connects to the address it asked for.
  if (resource.type === 'ServiceEntry' && (resource.spec.resolution ?? 'NONE') === 'NONE') {
    return create(LoadBalancingSchema, {
      mode: LoadBalancing_Mode.PASSTHROUGH,
      healthPolicy: LoadBalancing_HealthPolicy.ALLOW_ALL,
    });
  }
  // internalTrafficPolicy Local wins over any traffic distribution: the node's own
  // endpoints, or none at all.
  const lb = service.nodeLocal
    ? create(LoadBalancingSchema, {
        routingPreference: [LoadBalancing_Scope.NODE],
        mode: LoadBalancing_Mode.STRICT,
      })
    : distributionPreference(service);
  if (!service.publishNotReadyAddresses) return lb;
  // Endpoints that are not ready stay UNHEALTHY on their workloads (a pod may back other
  // services); this service alone lets clients use them.
  const allowAll = lb ?? create(LoadBalancingSchema, {});
  allowAll.healthPolicy = LoadBalancing_HealthPolicy.ALLOW_ALL;
  return allowAll;
}

function ipFamilies(service: MeshService): IPFamilies {
  const { resource } = service;
  if (resource.type !== 'Service') return IPFamilies.AUTOMATIC;
  const families = resource.spec.ipFamilies ?? [];
  if (families.length === 2) return IPFamilies.DUAL;
  if (families.length === 1) {
    return families[0] === 'IPv4' ? IPFamilies.IPV4_ONLY : IPFamilies.IPV6_ONLY;
  }
  return IPFamilies.AUTOMATIC;
}

/** `istio.io/ingress-use-waypoint` on the service, else on its namespace; only with a waypoint. */
function ingressUseWaypoint(labels: Labels, namespace: NamespaceInfo | undefined): boolean {
  const value = labels[INGRESS_USE_WAYPOINT] ?? namespace?.labels[INGRESS_USE_WAYPOINT];
  return value !== undefined && ['1', 't', 'true'].includes(value.toLowerCase());
}

/** The `istio.workload.Service` for one service (Istio's constructService / constructServiceEntries). */
export function serviceMessage(
  service: MeshService,
  namespace: NamespaceInfo | undefined,
  options: AddressOptions,
): Service {
  const waypoint = waypointAddress(service.waypoint, options.network);
  const lb = loadBalancing(service);
  const subjectAltNames =
    service.resource.type === 'ServiceEntry' ? (service.resource.spec.subjectAltNames ?? []) : [];
  return create(ServiceSchema, {
    name: service.name,
    namespace: service.namespace,
    hostname: service.hostname,
    addresses: networkAddresses(service.addresses, options.network),
    ports: ports(service),
    subjectAltNames,
    ...(waypoint !== undefined && {
      waypoint,
      ingressUseWaypoint: ingressUseWaypoint(service.labels, namespace),
    }),
    ...(lb !== undefined && { loadBalancing: lb }),
    ipFamilies: ipFamilies(service),
    canonical: service.canonical,
  });
}
