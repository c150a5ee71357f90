/**
 * Istio's `istio.io/ingress-use-waypoint: "true"` (on a Service or its namespace): an ingress
 * gateway sends that service's requests to the service's waypoint instead of its endpoints,
 * tunnelling to each waypoint pod with the service's `VIP:port` as `:authority`, as a node
 * tunnel does for a client in the mesh. Without the label the gateway goes straight to the
 * endpoints and the waypoint's policy does not apply.
 */
import { isIPAddress } from '../../api/schema/index.js';
import type { Cluster, Endpoint } from '../../api/waypoint/config.js';
import { formatAuthority } from '../../core/hbone/authority.js';
import type { MeshModel } from '../model/mesh-model.js';
import { serviceKey } from '../model/services.js';
import type { MeshService } from '../model/services.js';
import { compact } from '../waypoint/compact.js';
import { serviceForHostname } from '../waypoint/hosts.js';

export const INGRESS_USE_WAYPOINT = 'istio.io/ingress-use-waypoint';

function usesWaypoint(model: MeshModel, service: MeshService): boolean {
  const namespaceLabels = model.namespaces.get(service.namespace)?.labels ?? {};
  return (service.labels[INGRESS_USE_WAYPOINT] ?? namespaceLabels[INGRESS_USE_WAYPOINT]) === 'true';
}

/** The waypoint's pods, as endpoints carrying the service's VIP and port as authority. */
function waypointEndpoints(
  model: MeshModel,
  service: MeshService,
  port: number,
  trustDomain: string,
): Endpoint[] | undefined {
  if (service.waypoint.state !== 'bound') return undefined;
  const { address } = service.waypoint.waypoint;
  const vip = service.addresses.find((a) => isIPAddress(a));
  if (address.kind !== 'hostname' || vip === undefined) return undefined;
  const members = model.endpoints.get(serviceKey(address.namespace, address.hostname)) ?? [];
  const authority = formatAuthority({ address: vip, port });
  return members.flatMap(({ workload }) => {
    if (workload.kind !== 'Pod') return [];
    const [ip] = workload.ips;
    if (ip === undefined || workload.terminal) return [];
    return [
      compact({
        address: ip,
        port,
        identity: `spiffe://${trustDomain}/ns/${workload.namespace}/sa/${workload.serviceAccount}`,
        healthy: workload.ready && !workload.terminating,
        authority,
      }),
    ];
  });
}

/** The clusters, with those of services that ask for it sent through their waypoint. */
export function throughWaypoints(
  clusters: readonly Cluster[],
  model: MeshModel,
  servicesByHostname: ReadonlyMap<string, readonly MeshService[]>,
  namespace: string,
  trustDomain: string,
): Cluster[] {
  return clusters.map((cluster) => {
    if (cluster.problem !== undefined) return cluster;
    const service = serviceForHostname(servicesByHostname.get(cluster.host) ?? [], namespace);
    if (service === undefined || !usesWaypoint(model, service)) return cluster;
    const endpoints = waypointEndpoints(model, service, cluster.port, trustDomain);
    return endpoints === undefined ? cluster : { ...cluster, endpoints };
  });
}
