import type { Identity } from '../../core/identity/spiffe.js';
import { connectionFacts, policyMatches } from './match.js';
import type { Authorization } from './policy.js';

export type { Authorization } from './policy.js';

/** What the node tunnel knows about a connection when it decides. */
export interface ConnectionAttributes {
  /** The verified peer identity; absent for a plaintext connection. */
  sourceIdentity?: Identity;
  sourceIp: string;
  /** The destination workload's address and the port the app is reached on. */
  destinationIp: string;
  destinationPort: number;
}

export type DecisionReason =
  | 'a DENY policy matched'
  | 'no ALLOW policy applies'
  | 'an ALLOW policy matched'
  | 'no ALLOW policy matched';

export interface Decision {
  readonly allowed: boolean;
  /** `namespace/name` of the policy that decided, when one did. */
  readonly policy?: string;
  readonly reason: DecisionReason;
}

/**
 * Istio's order, as ztunnel applies it (src/state.rs, assert_rbac): any matching DENY policy
 * denies; with no ALLOW policy the connection is allowed; a matching ALLOW policy allows; else
 * it is denied. Dry-run policies are never enforced (ztunnel only logs them).
 */
export function authorize(
  connection: ConnectionAttributes,
  policies: readonly Authorization[],
): Decision {
  const facts = connectionFacts(connection);
  const enforced = policies.filter((p) => !p.dryRun);
  for (const policy of enforced) {
    if (policy.action === 'DENY' && policyMatches(policy, facts)) {
      return { allowed: false, policy: policy.key, reason: 'a DENY policy matched' };
    }
  }
  const allow = enforced.filter((p) => p.action === 'ALLOW');
  if (allow.length === 0) return { allowed: true, reason: 'no ALLOW policy applies' };
  const matched = allow.find((p) => policyMatches(p, facts));
  if (matched !== undefined) {
    return { allowed: true, policy: matched.key, reason: 'an ALLOW policy matched' };
  }
  return { allowed: false, reason: 'no ALLOW policy matched' };
}
