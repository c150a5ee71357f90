/**
 * Host names as routing config uses them (istio pkg/config/host and ResolveShortnameToFQDN):
 * short names resolve in the namespace of the object that wrote them, wildcards match by
 * suffix, and a hostname picks one service.
 */
import { hostsOverlap, hostSubsetOf, isWildcarded } from '../../api/resources/index.js';
import { isIPAddress } from '../../api/schema/index.js';
import type { MeshService } from '../model/services.js';

/**
 * Istio's ResolveShortnameToFQDN: a name without a dot is a Kubernetes Service in
 * `namespace`; anything with a dot, `*` and IP addresses are taken as written.
 */
export function resolveHost(host: string, namespace: string, domainSuffix: string): string {
  if (host === '*' || host.includes('.') || isIPAddress(host)) return host;
  return `${host}.${namespace}.svc.${domainSuffix}`;
}

/** Whether a (possibly wildcarded) config host covers `hostname` (Istio's host.Name.Matches). */
export function hostCovers(host: string, hostname: string): boolean {
  return hostsOverlap(host, hostname);
}

/**
 * Istio's MostSpecificHostMatch: an exact name wins, else the longest wildcard that covers
 * `hostname`.
 */
export function mostSpecificHost(hostname: string, hosts: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const host of hosts) {
    if (host === hostname) return host;
    if (!isWildcarded(host) || !hostSubsetOf(hostname, host)) continue;
    if (best === undefined || host.length > best.length) best = host;
  }
  return best;
}

/** Services by hostname: several namespaces may declare one. */
export function servicesByHostname(services: readonly MeshService[]): Map<string, MeshService[]> {
  const out = new Map<string, MeshService[]>();
  for (const service of services) {
    const list = out.get(service.hostname);
    if (list === undefined) out.set(service.hostname, [service]);
    else list.push(service);
  }
  return out;
}

/**
 * Which of the services declaring a hostname a proxy in `namespace` means: the one declared
 * there, else the canonical one (Istio's ServiceForHostname).
 */
export function serviceForHostname(
  candidates: readonly MeshService[],
  namespace: string,
): MeshService | undefined {
  return (
    candidates.find((s) => s.namespace === namespace) ??
    candidates.find((s) => s.canonical) ??
    candidates[0]
  );
}
