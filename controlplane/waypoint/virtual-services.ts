/**
 * The VirtualServices a waypoint applies to one of its services (Istio's
 * getVirtualServiceForWaypoint over the waypoint's visible config): bound to the mesh
 * (no `gateways`, or `mesh` among them), visible from the waypoint's namespace (`exportTo`),
 * written in the service's namespace or the waypoint's, and with a host covering the
 * service's hostname. Oldest first: their routes are applied one VirtualService after the
 * other, as Istio does for waypoints since 1.28 (istio/istio#59484; before, only the first
 * applied).
 */
import type { VirtualServiceResource } from '../../api/resources/index.js';
import { compareText } from '../model/services.js';
import type { MeshService } from '../model/services.js';
import { hostCovers, resolveHost } from './hosts.js';

function visibleFrom(vs: VirtualServiceResource, namespace: string): boolean {
  const exportTo = vs.spec.exportTo ?? [];
  const own = vs.metadata.namespace ?? 'default';
  return (
    exportTo.length === 0 ||
    exportTo.includes('*') ||
    exportTo.includes(namespace) ||
    (exportTo.includes('.') && own === namespace)
  );
}

/** Creation time, then namespace and name (Istio's sortConfigByCreationTime). */
export function compareAge(
  a: { metadata: { creationTimestamp?: string; namespace?: string; name: string } },
  b: { metadata: { creationTimestamp?: string; namespace?: string; name: string } },
): number {
  return (
    compareText(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '') ||
    compareText(a.metadata.namespace ?? '', b.metadata.namespace ?? '') ||
    compareText(a.metadata.name, b.metadata.name)
  );
}

export function virtualServicesFor(
  all: readonly VirtualServiceResource[],
  service: MeshService,
  waypointNamespace: string,
  domainSuffix: string,
): VirtualServiceResource[] {
  return all
    .filter((vs) => {
      const namespace = vs.metadata.namespace ?? 'default';
      const gateways = vs.spec.gateways ?? [];
      return (
        (gateways.length === 0 || gateways.includes('mesh')) &&
        (namespace === service.namespace || namespace === waypointNamespace) &&
        visibleFrom(vs, waypointNamespace) &&
        (vs.spec.hosts ?? []).some((h) =>
          hostCovers(resolveHost(h, namespace, domainSuffix), service.hostname),
        )
      );
    })
    .sort(compareAge);
}
