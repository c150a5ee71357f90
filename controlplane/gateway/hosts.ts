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

/** Whether a concrete name (a Host header's host, an SNI) falls under a host pattern. */
export function hostMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1;
  return pattern === name;
}

/**
 * The most specific pattern that matches `name` (Envoy's virtual host choice): an exact name,
 * else the longest `*.suffix`, else `*`. Returns its index in `patterns`, or -1.
 */
export function mostSpecificMatch(patterns: readonly string[], name: string): number {
  let best = -1;
  let bestRank = -1;
  patterns.forEach((pattern, i) => {
    if (!hostMatches(pattern, name)) return;
    const rank = pattern === name ? Number.MAX_SAFE_INTEGER : pattern === '*' ? 0 : pattern.length;
    if (rank > bestRank) {
      best = i;
      bestRank = rank;
    }
  });
  return best;
}
