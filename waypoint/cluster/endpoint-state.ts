import type { Endpoint } from '../../api/waypoint/config.js';
import { formatAuthority } from '../../core/hbone/authority.js';

/** `ip:port` (`[ip]:port` for IPv6): how Envoy names a host, and so what the ring hashes. */
export type EndpointKey = string & { readonly brand: 'EndpointKey' };

export function endpointKey(endpoint: Pick<Endpoint, 'address' | 'port'>): EndpointKey {
  return formatAuthority(endpoint) as EndpointKey;
}

/**
 * What the waypoint knows about one endpoint beyond its config. The object lives as long as
 * the endpoint stays in its cluster, across config pushes, so a request in flight can
 * decrement `active` on the same object that counted it.
 */
export interface EndpointState {
  readonly key: EndpointKey;
  /** Replaced in place when a push changes the endpoint (health, identity). */
  endpoint: Endpoint;
  /** Requests in flight to this endpoint (Envoy's `rq_active`), kept by the caller. */
  active: number;
  /** Set and cleared by outlier detection only. */
  ejected: boolean;
}

export function newEndpointState(endpoint: Endpoint): EndpointState {
  return { key: endpointKey(endpoint), endpoint, active: 0, ejected: false };
}
