import type { Identity } from '../../core/identity/spiffe.js';
import { identityParts } from '../../core/identity/spiffe.js';
import { canonicalIpBytes, cidrContains, type Cidr } from '../../core/net/ip.js';
import type { Authorization, PolicyMatch, StringMatch } from './policy.js';

/*
 * Whether a policy matches a connection, as ztunnel decides it (src/rbac.rs,
 * Authorization::matches):
 * - no groups: never; a group: all of its rules; rules: any of its matches, or always when it
 *   has none; a match with no field set is skipped, so rules holding only such matches fail;
 * - within a match every field must hold; a field holds when its list is empty or any value
 *   matches, and its `not` field when that list is empty or no value matches;
 * - a peer without an identity (plaintext) has principal "" and namespace "": it never
 *   matches a `principals`, `namespaces` presence or `serviceAccounts` value, so it always
 *   passes their `not` forms. That is how STRICT (`not_principals: [presence]`) denies it.
 */

/** What policies look at, derived once per connection. */
export interface ConnectionFacts {
  /** The peer's SPIFFE id without `spiffe://`; undefined for a plaintext peer. */
  readonly principal: string | undefined;
  /** The peer identity's namespace; "" for a plaintext peer, as in ztunnel. */
  readonly namespace: string;
  readonly serviceAccount: { readonly namespace: string; readonly name: string } | undefined;
  readonly sourceIp: Uint8Array | undefined;
  readonly destinationIp: Uint8Array | undefined;
  readonly destinationPort: number;
}

export function connectionFacts(connection: {
  sourceIdentity?: Identity | undefined;
  sourceIp: string;
  destinationIp: string;
  destinationPort: number;
}): ConnectionFacts {
  const identity = connection.sourceIdentity;
  const parts = identity === undefined ? undefined : identityParts(identity);
  return {
    principal: identity?.slice('spiffe://'.length),
    namespace: parts?.namespace ?? '',
    serviceAccount: parts && { namespace: parts.namespace, name: parts.serviceAccount },
    sourceIp: canonicalIpBytes(connection.sourceIp),
    destinationIp: canonicalIpBytes(connection.destinationIp),
    destinationPort: connection.destinationPort,
  };
}

export function policyMatches(policy: Authorization, facts: ConnectionFacts): boolean {
  return policy.groups.some((group) =>
    group.rules.every(
      (rules) =>
        rules.matches.length === 0 ||
        rules.matches.some((match) => !isEmpty(match) && matchHolds(match, facts)),
    ),
  );
}

function matchHolds(m: PolicyMatch, c: ConnectionFacts): boolean {
  const ip = (address: Uint8Array | undefined) => (cidr: Cidr) =>
    address !== undefined && cidrContains(cidr, address);
  return (
    field(m.destinationIps, m.notDestinationIps, ip(c.destinationIp)) &&
    field(m.sourceIps, m.notSourceIps, ip(c.sourceIp)) &&
    field(m.destinationPorts, m.notDestinationPorts, (port) => port === c.destinationPort) &&
    field(
      m.serviceAccounts,
      m.notServiceAccounts,
      (sa) =>
        c.serviceAccount !== undefined &&
        sa.namespace === c.serviceAccount.namespace &&
        sa.serviceAccount === c.serviceAccount.name,
    ) &&
    field(
      m.principals,
      m.notPrincipals,
      (p) => c.principal !== undefined && stringMatches(p, c.principal),
    ) &&
    field(m.namespaces, m.notNamespaces, (n) => stringMatches(n, c.namespace))
  );
}

function field<T>(
  positive: readonly T[],
  negative: readonly T[],
  matches: (value: T) => boolean,
): boolean {
  return (
    (positive.length === 0 || positive.some(matches)) &&
    (negative.length === 0 || !negative.some(matches))
  );
}

export function stringMatches(m: StringMatch, value: string): boolean {
  switch (m.kind) {
    case 'exact':
      return value === m.value;
    case 'prefix':
      return value.startsWith(m.value);
    case 'suffix':
      return value.endsWith(m.value);
    case 'presence':
      return value !== '';
  }
}

function isEmpty(m: PolicyMatch): boolean {
  return (
    m.namespaces.length === 0 &&
    m.notNamespaces.length === 0 &&
    m.serviceAccounts.length === 0 &&
    m.notServiceAccounts.length === 0 &&
    m.principals.length === 0 &&
    m.notPrincipals.length === 0 &&
    m.sourceIps.length === 0 &&
    m.notSourceIps.length === 0 &&
    m.destinationIps.length === 0 &&
    m.notDestinationIps.length === 0 &&
    m.destinationPorts.length === 0 &&
    m.notDestinationPorts.length === 0
  );
}
