/**
 * Hosts as an ingress gateway's servers and the routes bound to them use them (Istio's
 * gateway.go and virtualservice host handling): a server host may carry a namespace prefix
 * saying which namespaces' routes it takes, and a route host and a server host meet in the
 * more specific of the two.
 */
import { hostSubsetOf } from '../../api/resources/index.js';

/** A server host split: `ns/host`, `./host`, `*\/host` or a bare host (any namespace). */
export interface ServerHost {
  /** `*`: routes from any namespace; otherwise that namespace only. */
  readonly namespace: string;
  /** Exact, `*.suffix` or `*`. */
  readonly host: string;
}

/** Parses a server host; `.` means the Gateway's own namespace. */
export function parseServerHost(value: string, gatewayNamespace: string): ServerHost {
  const slash = value.indexOf('/');
  if (slash < 0) return { namespace: '*', host: value.toLowerCase() };
  const namespace = value.slice(0, slash);
  return {
    namespace: namespace === '.' ? gatewayNamespace : namespace,
    host: value.slice(slash + 1).toLowerCase(),
  };
}

/**
 * Where a route host and a server host meet (Istio's host intersection for gateways): the
 * route host when the server host covers it, the server host when the route host covers it,
 * else nothing.
 */
export function intersectHosts(routeHost: string, serverHost: string): string | undefined {
  if (hostSubsetOf(routeHost, serverHost)) return routeHost;
  if (hostSubsetOf(serverHost, routeHost)) return serverHost;
  return undefined;
}
