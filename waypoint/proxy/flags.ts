/**
 * Envoy's response flags, as Istio's telemetry reports them (`response_flags`), for what the
 * waypoint did to a request: a reply it made itself, or what happened on the way upstream.
 */
export type ResponseFlag =
  /** No route matched. */
  | 'NR'
  /** The route names a cluster the service does not carry. */
  | 'NC'
  /** No healthy upstream host. */
  | 'UH'
  /** Upstream connection failure. */
  | 'UF'
  /** Upstream overflow: a circuit breaker was open. */
  | 'UO'
  /** The retry limit was reached while a retry was still warranted. */
  | 'URX'
  /** Upstream request timeout (route or per-try). */
  | 'UT'
  /** Upstream connection termination. */
  | 'UC'
  /** Upstream remote reset. */
  | 'UR'
  /** Delay injected. */
  | 'DI'
  /** Fault (abort) injected. */
  | 'FI'
  /** Downstream connection termination. */
  | 'DC'
  /**
   * Denied by AuthorizationPolicy. Envoy's RBAC filter reports this in response code details
   * (`rbac_access_denied_matched_policy[…]`) rather than a flag; Ambit keeps it with the
   * flags, after Envoy's own, so telemetry can tell a policy denial from a 403 upstream.
   */
  | 'RBAC';

/** Envoy's order of the flags in its short string (`ResponseFlagUtils`), whatever came first. */
const ORDER: readonly ResponseFlag[] = [
  'UH',
  'UT',
  'UR',
  'UF',
  'UC',
  'UO',
  'NR',
  'DI',
  'FI',
  'DC',
  'URX',
  'NC',
  'RBAC',
];

/** Adds `flag` to `flags` once, keeping Envoy's order. */
export function insertFlag(flags: ResponseFlag[], flag: ResponseFlag): void {
  if (flags.includes(flag)) return;
  const rank = ORDER.indexOf(flag);
  const at = flags.findIndex((other) => ORDER.indexOf(other) > rank);
  if (at < 0) flags.push(flag);
  else flags.splice(at, 0, flag);
}

/** The flags as Envoy prints them: comma-separated, `-` for none. */
export function formatFlags(flags: readonly ResponseFlag[]): string {
  return flags.length === 0 ? '-' : flags.join(',');
}
