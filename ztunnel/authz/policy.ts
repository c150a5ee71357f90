import type { Cidr } from '../../core/net/ip.js';

/**
 * An `istio.security.Authorization` as the node tunnel holds it: the L4 part of one
 * AuthorizationPolicy (or a PeerAuthentication turned into a DENY policy), with addresses
 * as text so that it reads well in /config_dump.
 */
export interface Authorization {
  /** `namespace/name`, the xDS resource name and the name workloads list it by. */
  readonly key: string;
  readonly name: string;
  readonly namespace: string;
  /** GLOBAL: every workload; NAMESPACE: its namespace's; WORKLOAD_SELECTOR: those listing it. */
  readonly scope: 'GLOBAL' | 'NAMESPACE' | 'WORKLOAD_SELECTOR';
  readonly action: 'ALLOW' | 'DENY';
  /** The policy matches when any group does. */
  readonly groups: readonly PolicyGroup[];
  /** Evaluated for logs only, never enforced. */
  readonly dryRun: boolean;
}

/** Matches when every one of its rules does (a policy rule's to, from and each when). */
export interface PolicyGroup {
  readonly rules: readonly PolicyRules[];
}

/** Matches when any of its matches does; with no matches at all it matches everything. */
export interface PolicyRules {
  readonly matches: readonly PolicyMatch[];
}

/**
 * Every field that is set must hold: a field holds when any of its values matches, a `not`
 * field when none does. A match with no field set never matches.
 */
export interface PolicyMatch {
  readonly namespaces: readonly StringMatch[];
  readonly notNamespaces: readonly StringMatch[];
  readonly serviceAccounts: readonly ServiceAccountMatch[];
  readonly notServiceAccounts: readonly ServiceAccountMatch[];
  /** Against the peer's SPIFFE id without `spiffe://`, e.g. `cluster.local/ns/a/sa/b`. */
  readonly principals: readonly StringMatch[];
  readonly notPrincipals: readonly StringMatch[];
  readonly sourceIps: readonly Cidr[];
  readonly notSourceIps: readonly Cidr[];
  readonly destinationIps: readonly Cidr[];
  readonly notDestinationIps: readonly Cidr[];
  readonly destinationPorts: readonly number[];
  readonly notDestinationPorts: readonly number[];
}

export type StringMatch =
  | { readonly kind: 'exact' | 'prefix' | 'suffix'; readonly value: string }
  /** Any non-empty value. */
  | { readonly kind: 'presence' };

export interface ServiceAccountMatch {
  readonly namespace: string;
  readonly serviceAccount: string;
}
