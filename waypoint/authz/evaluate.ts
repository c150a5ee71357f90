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
 */
import type {
  PolicyCondition,
  PolicyOperation,
  PolicyRule,
  PolicySource,
  WaypointPolicy,
} from '../../api/waypoint/config.js';
import type { RequestAttributes } from './attributes.js';
import { conditionMatches } from './conditions.js';
import { matchesAny, matchesHost, matchesIpBlock, matchesPath } from './patterns.js';

export type Decision =
  | { readonly allowed: true; readonly audited: boolean }
  | {
      readonly allowed: false;
      readonly audited: boolean;
      /** The policy that denied (`ns/name`), or undefined when no ALLOW policy matched. */
      readonly policy: string | undefined;
    };

/** Positive list: absent → true; else any value matches. Negative list: absent or none matches. */
function field(
  list: readonly string[] | undefined,
  test: (value: string) => boolean,
  negative: boolean,
): boolean {
  if (list === undefined || list.length === 0) return true;
  let any = false;
  for (const value of list)
    if (test(value)) {
      any = true;
      break;
    }
  return negative ? !any : any;
}

function sourceMatches(source: PolicySource, r: RequestAttributes): boolean {
  const { peer } = r;
  const requestPrincipal = r.jwt?.principal;
  return (
    field(source.principals, (p) => matchesAny([p], peer.principal), false) &&
    field(source.notPrincipals, (p) => matchesAny([p], peer.principal), true) &&
    field(source.namespaces, (p) => matchesAny([p], peer.namespace), false) &&
    field(source.notNamespaces, (p) => matchesAny([p], peer.namespace), true) &&
    field(source.ipBlocks, (b) => matchesIpBlock(b, peer.sourceIp), false) &&
    field(source.notIpBlocks, (b) => matchesIpBlock(b, peer.sourceIp), true) &&
    field(source.remoteIpBlocks, (b) => matchesIpBlock(b, peer.sourceIp), false) &&
    field(source.notRemoteIpBlocks, (b) => matchesIpBlock(b, peer.sourceIp), true) &&
    field(source.requestPrincipals, (p) => matchesAny([p], requestPrincipal), false) &&
    field(source.notRequestPrincipals, (p) => matchesAny([p], requestPrincipal), true)
  );
}

function portsField(ports: readonly number[] | undefined, port: number, negative: boolean) {
  if (ports === undefined || ports.length === 0) return true;
  return ports.includes(port) !== negative;
}

function operationMatches(op: PolicyOperation, r: RequestAttributes): boolean {
  return (
    field(op.hosts, (h) => matchesHost(h, r.authority), false) &&
    field(op.notHosts, (h) => matchesHost(h, r.authority), true) &&
    portsField(op.ports, r.destinationPort, false) &&
    portsField(op.notPorts, r.destinationPort, true) &&
    field(op.methods, (m) => matchesAny([m], r.method), false) &&
    field(op.notMethods, (m) => matchesAny([m], r.method), true) &&
    field(op.paths, (p) => matchesPath(p, r.path), false) &&
    field(op.notPaths, (p) => matchesPath(p, r.path), true)
  );
}

function anyOf<T>(list: readonly T[] | undefined, test: (item: T) => boolean): boolean {
  if (list === undefined) return true;
  for (const item of list) if (test(item)) return true;
  return false;
}

function allOf(list: readonly PolicyCondition[] | undefined, r: RequestAttributes): boolean {
  if (list === undefined) return true;
  for (const condition of list) if (!conditionMatches(condition, r)) return false;
  return true;
}

export function ruleMatches(rule: PolicyRule, r: RequestAttributes): boolean {
  return (
    anyOf(rule.from, (s) => sourceMatches(s, r)) &&
    anyOf(rule.to, (o) => operationMatches(o, r)) &&
    allOf(rule.when, r)
  );
}

export function policyMatches(policy: WaypointPolicy, r: RequestAttributes): boolean {
  for (const rule of policy.rules) if (ruleMatches(rule, r)) return true;
  return false;
}

const ALLOWED: Decision = { allowed: true, audited: false };
const ALLOWED_AUDITED: Decision = { allowed: true, audited: true };

export function authorize(policies: readonly WaypointPolicy[], r: RequestAttributes): Decision {
  let audited = false;
  for (const policy of policies)
    if (policy.action === 'AUDIT' && policyMatches(policy, r)) {
      audited = true;
      break;
    }
  for (const action of ['CUSTOM', 'DENY'] as const) {
    for (const policy of policies) {
      if (policy.action === action && policyMatches(policy, r))
        return { allowed: false, audited, policy: policy.name };
    }
  }
  let anyAllow = false;
  for (const policy of policies) {
    if (policy.action !== 'ALLOW') continue;
    anyAllow = true;
    if (policyMatches(policy, r)) return audited ? ALLOWED_AUDITED : ALLOWED;
  }
  if (!anyAllow) return audited ? ALLOWED_AUDITED : ALLOWED;
  return { allowed: false, audited, policy: undefined };
}
