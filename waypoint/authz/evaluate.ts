/**
 * AuthorizationPolicy at the waypoint, in Istio's order (Envoy's RBAC filters as Istio
 * builds them): CUSTOM, then DENY, then — when no ALLOW policy applies, allow — any ALLOW
 * rule matching allows, else deny. AUDIT never changes the decision; it only marks it.
 *
 * CUSTOM needs an ext_authz provider and Ambit has none, so a CUSTOM policy whose rules match
 * denies, as Istio fails closed when a CUSTOM policy's provider cannot be used.
 *
 * Each `notX` field matches when no value does; a source with an unknown peer identity fails
 * every positive identity field and passes every negative one, as Envoy's matchers do, so an
 * unknown peer is never let in by an ALLOW on principals or namespaces.
 *
 * A connection that does not carry HTTP (a TCP port through the waypoint) is checked as
 * Istio's network RBAC filter checks it: an ALLOW rule using an HTTP attribute never matches,
 * and in other rules HTTP attributes are left out (a DENY then denies more than asked).
 */
import type {
  PolicyCondition,
  PolicyOperation,
  PolicyRule,
  PolicySource,
  WaypointPolicy,
} from '../../api/waypoint/config.js';
import type { PeerAttributes, RequestAttributes } from './attributes.js';
import { conditionMatches, isHttpCondition } from './conditions.js';
import { matchesHost, matchesIpBlock, matchesPath, matchesPattern } from './patterns.js';

export type Decision =
  | { readonly allowed: true; readonly audited: boolean }
  | {
      readonly allowed: false;
      readonly audited: boolean;
      /** The policy that denied (`ns/name`), or undefined when no ALLOW policy matched. */
      readonly policy: string | undefined;
    };

/** What a TCP connection through the waypoint offers to policies. */
export interface ConnectionAttributes {
  readonly peer: PeerAttributes;
  readonly destinationIp: Uint8Array | undefined;
  readonly destinationPort: number;
}

function empty(list: readonly unknown[] | undefined): list is undefined {
  return list === undefined || list.length === 0;
}

/** Absent: true. Else any pattern matching (or, negated, none). */
function patterns(list: readonly string[] | undefined, value: string | undefined, not: boolean) {
  if (empty(list)) return true;
  for (const pattern of list) if (matchesPattern(pattern, value)) return !not;
  return not;
}

function blocks(list: readonly string[] | undefined, ip: Uint8Array | undefined, not: boolean) {
  if (empty(list)) return true;
  for (const block of list) if (matchesIpBlock(block, ip)) return !not;
  return not;
}

function hosts(list: readonly string[] | undefined, authority: string, not: boolean) {
  if (empty(list)) return true;
  for (const host of list) if (matchesHost(host, authority)) return !not;
  return not;
}

function paths(list: readonly string[] | undefined, path: string, not: boolean) {
  if (empty(list)) return true;
  for (const p of list) if (matchesPath(p, path)) return !not;
  return not;
}

function ports(list: readonly number[] | undefined, port: number, not: boolean) {
  return empty(list) || list.includes(port) !== not;
}

function peerMatches(source: PolicySource, peer: PeerAttributes): boolean {
  return (
    patterns(source.principals, peer.principal, false) &&
    patterns(source.notPrincipals, peer.principal, true) &&
    patterns(source.namespaces, peer.namespace, false) &&
    patterns(source.notNamespaces, peer.namespace, true) &&
    blocks(source.ipBlocks, peer.sourceIp, false) &&
    blocks(source.notIpBlocks, peer.sourceIp, true) &&
    blocks(source.remoteIpBlocks, peer.sourceIp, false) &&
    blocks(source.notRemoteIpBlocks, peer.sourceIp, true)
  );
}

function sourceMatches(source: PolicySource, r: RequestAttributes): boolean {
  const requestPrincipal = r.jwt?.principal;
  return (
    peerMatches(source, r.peer) &&
    patterns(source.requestPrincipals, requestPrincipal, false) &&
    patterns(source.notRequestPrincipals, requestPrincipal, true)
  );
}

function operationMatches(op: PolicyOperation, r: RequestAttributes): boolean {
  return (
    ports(op.ports, r.destinationPort, false) &&
    ports(op.notPorts, r.destinationPort, true) &&
    hosts(op.hosts, r.authority, false) &&
    hosts(op.notHosts, r.authority, true) &&
    patterns(op.methods, r.method, false) &&
    patterns(op.notMethods, r.method, true) &&
    paths(op.paths, r.path, false) &&
    paths(op.notPaths, r.path, true)
  );
}

export function ruleMatches(rule: PolicyRule, r: RequestAttributes): boolean {
  if (rule.from !== undefined && !rule.from.some((s) => sourceMatches(s, r))) return false;
  if (rule.to !== undefined && !rule.to.some((o) => operationMatches(o, r))) return false;
  if (rule.when !== undefined) for (const c of rule.when) if (!conditionMatches(c, r)) return false;
  return true;
}

function usesHttp(rule: PolicyRule): boolean {
  return (
    (rule.from ?? []).some((s) => !empty(s.requestPrincipals) || !empty(s.notRequestPrincipals)) ||
    (rule.to ?? []).some(
      (o) =>
        !empty(o.hosts) ||
        !empty(o.notHosts) ||
        !empty(o.methods) ||
        !empty(o.notMethods) ||
        !empty(o.paths) ||
        !empty(o.notPaths),
    ) ||
    (rule.when ?? []).some(isHttpCondition)
  );
}

/** The rule on a connection, its HTTP attributes left out. */
function connectionRuleMatches(rule: PolicyRule, c: ConnectionAttributes): boolean {
  if (rule.from !== undefined && !rule.from.some((s) => peerMatches(s, c.peer))) return false;
  const port = (o: PolicyOperation) =>
    ports(o.ports, c.destinationPort, false) && ports(o.notPorts, c.destinationPort, true);
  if (rule.to !== undefined && !rule.to.some(port)) return false;
  const l4: RequestAttributes = {
    ...c,
    method: '',
    path: '',
    authority: '',
    headers: {},
    jwt: undefined,
  };
  const conditions = (rule.when ?? []).filter((w: PolicyCondition) => !isHttpCondition(w));
  return conditions.every((w) => conditionMatches(w, l4));
}

function decide(
  policies: readonly WaypointPolicy[],
  matches: (policy: WaypointPolicy) => boolean,
): Decision {
  let audited = false;
  for (const policy of policies)
    if (policy.action === 'AUDIT' && matches(policy)) {
      audited = true;
      break;
    }
  for (const action of ['CUSTOM', 'DENY'] as const) {
    for (const policy of policies) {
      if (policy.action === action && matches(policy))
        return { allowed: false, audited, policy: policy.name };
    }
  }
  let anyAllow = false;
  for (const policy of policies) {
    if (policy.action !== 'ALLOW') continue;
    anyAllow = true;
    if (matches(policy)) return { allowed: true, audited };
  }
  return anyAllow ? { allowed: false, audited, policy: undefined } : { allowed: true, audited };
}

export function authorize(policies: readonly WaypointPolicy[], r: RequestAttributes): Decision {
  return decide(policies, (policy) => policy.rules.some((rule) => ruleMatches(rule, r)));
}

/** A connection that carries no HTTP: Istio's network RBAC semantics (see above). */
export function authorizeConnection(
  policies: readonly WaypointPolicy[],
  c: ConnectionAttributes,
): Decision {
  return decide(policies, (policy) =>
    policy.rules.some(
      (rule) => !(policy.action === 'ALLOW' && usesHttp(rule)) && connectionRuleMatches(rule, c),
    ),
  );
}
