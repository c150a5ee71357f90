/**
 * How Istio names workload API resources (pilot/pkg/serviceregistry/ambient/helpers.go).
 * Clients key their state by these names, so they must match Istio's byte for byte.
 */

/** A workload's uid, its resource name: `<cluster>//Pod/<namespace>/<name>`. */
export function podUid(clusterId: string, namespace: string, name: string): string {
  return `${clusterId}//Pod/${namespace}/${name}`;
}

export function workloadEntryUid(clusterId: string, namespace: string, name: string): string {
  return `${clusterId}/networking.istio.io/WorkloadEntry/${namespace}/${name}`;
}

/** One endpoint of a ServiceEntry, told apart by its address (or, when implied, its host). */
export function serviceEntryEndpointUid(
  clusterId: string,
  namespace: string,
  name: string,
  address: string,
): string {
  return `${clusterId}/networking.istio.io/ServiceEntry/${namespace}/${name}/${address}`;
}

/** A service's resource name, also the key of `Workload.services`: `<namespace>/<hostname>`. */
export function serviceResourceName(namespace: string, hostname: string): string {
  return `${namespace}/${hostname}`;
}
