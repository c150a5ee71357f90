/**
 * How a gateway matches a concrete name (a request's Host, a ClientHello's SNI) against the
 * host patterns of its servers and virtual hosts: exact, `*.suffix` or `*`; the most specific
 * match wins, as Envoy picks a virtual host or a filter chain.
 */

/** Whether a concrete name (a Host header's host, an SNI) falls under a host pattern. */
export function hostMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (pattern.startsWith('*.'))
    return name.endsWith(pattern.slice(1)) && name.length > pattern.length - 1;
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
