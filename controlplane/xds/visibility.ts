import { GATEWAY_PROXY_TYPE_URL } from '../../api/xds/type-urls.js';
import type { Caller } from '../auth/authenticator.js';
import type { SnapshotResource, TypeSnapshot } from './snapshot.js';

/**
 * Which resources of a snapshot a caller may receive. Every type is served whole to every
 * authenticated caller (Istio's ambient resources are mesh-wide), except an ingress gateway's
 * config: it may carry private keys from Secrets, so a GatewayProxy named
 * `namespace/serviceAccount/name` goes only to a caller with that namespace and service
 * account.
 */
export function visibleTo(
  caller: Caller,
  snapshot: TypeSnapshot | undefined,
): TypeSnapshot | undefined {
  if (snapshot === undefined || snapshot.typeUrl !== GATEWAY_PROXY_TYPE_URL) return snapshot;
  const resources = new Map<string, SnapshotResource>();
  for (const [name, resource] of snapshot.resources)
    if (ownedBy(caller, name)) resources.set(name, resource);
  return { ...snapshot, resources };
}

/** `namespace/serviceAccount/…` names the caller's own identity. */
function ownedBy(caller: Caller, name: string): boolean {
  const [namespace, serviceAccount] = name.split('/');
  if (namespace === undefined || serviceAccount === undefined) return false;
  return caller.identity.endsWith(`/ns/${namespace}/sa/${serviceAccount}`);
}
