/**
 * AuthorizationPolicy → `istio.security.Authorization`: the part of a policy the node tunnel
 * can enforce at L4.
 *
 * The facts follow Istio (pilot/pkg/serviceregistry/ambient/authorization.go,
 * convertAuthorizationPolicy and handleRule) and how ztunnel evaluates the result
 * (istio/ztunnel src/rbac.rs):
 * - a policy matches when any Group matches; a Group when all its Rules match; Rules when any
 *   of its Matches matches; a Group with no Rules matches everything; a Match with no field
 *   set matches NOTHING (ztunnel skips it), and a policy with no Groups matches nothing;
 * - each policy rule becomes one Group with, in this order, one Rules of its `to` entries, one
 *   Rules of its `from` entries, and one single-Match Rules per `when` condition;
 * - HTTP-only fields are never sent. In an ALLOW policy a rule that uses any of them is
 *   dropped whole, so it allows nothing (the policy stays, and may then allow nothing at all).
 *   In a DENY policy they are just left out: what remains denies more than asked, and where
 *   nothing remains (a `to` of only `methods`, a `when` on a header) the Match is empty, so
 *   those Rules, and therefore the whole Group, never match.
 */
import { create } from '@bufbuild/protobuf';
import {
  Action,
  AuthorizationSchema,
  GroupSchema,
  MatchSchema,
  RulesSchema,
  Scope,
  type Authorization,
  type Group,
  type Match,
  type Rules,
} from '../../api/gen/istio/security/authorization_pb.js';
import type { AuthorizationPolicyResource } from '../../api/resources/index.js';
import {
  toAddresses,
  toPorts,
  toServiceAccountMatches,
  toStringMatches,
} from './authorization-values.js';

export interface AmbientPolicyOptions {
  /** The mesh root namespace (Istio's default: istio-system). */
  readonly rootNamespace: string;
}

/**
 * What became of one AuthorizationPolicy at the node tunnel. `authorization` is absent when
 * the node tunnel does not enforce the policy at all (a waypoint does, or nobody does);
 * `l7Fields` names the HTTP-only fields and `when` keys that were dropped or stripped
 * (sorted, Istio's spelling); `notes` says in words what that means, for `ambit` tools.
 */
export interface AuthorizationConversion {
  readonly authorization: Authorization | undefined;
  readonly l7Fields: readonly string[];
  readonly notes: readonly string[];
}

/**
 * A policy with this annotation set to true is only to be logged. Istio sends such policies
 * to ztunnel only behind a feature flag that is off by default, so they are not sent.
 */
export const DRY_RUN_ANNOTATION = 'istio.io/dry-run';

type PolicySpec = AuthorizationPolicyResource['spec'];
type PolicyRule = NonNullable<PolicySpec['rules']>[number];

/** The `when` keys the node tunnel can check. Every other key (including remote.ip) is L7. */
const L4_CONDITION_KEYS = new Set([
  'source.ip',
  'source.namespace',
  'source.principal',
  'destination.ip',
  'destination.port',
]);

export function convertAuthorizationPolicy(
  policy: AuthorizationPolicyResource,
  options: AmbientPolicyOptions,
): AuthorizationConversion {
  const { name, namespace = '' } = policy.metadata;
  const spec = policy.spec;
  const skipReason = nodeTunnelSkipReason(policy);
  if (skipReason !== undefined) {
    return { authorization: undefined, l7Fields: [], notes: [skipReason] };
  }

  const wireAction = spec.action === 'DENY' ? Action.DENY : Action.ALLOW;
  const l7Fields = new Set<string>();
  const ignored = new Set<string>();
  const groups: Group[] = [];
  for (const rule of spec.rules ?? []) {
    const converted = convertRule(rule, namespace);
    for (const field of converted.l7Fields) l7Fields.add(field);
    for (const field of converted.ignored) ignored.add(field);
    // An ALLOW rule that needs HTTP attributes cannot be proven at L4: it never allows.
    if (wireAction === Action.ALLOW && converted.l7Fields.length > 0) continue;
    groups.push(converted.group);
  }

  const authorization = create(AuthorizationSchema, {
    name,
    namespace,
    scope: policyScope(spec, namespace, options.rootNamespace),
    action: wireAction,
    groups,
  });
  const found = [...l7Fields].sort();
  const notes = l7Notes(wireAction, found, groups);
  if (ignored.size > 0) {
    notes.push(`not sent to the node tunnel, as in Istio: ${[...ignored].sort().join(', ')}`);
  }
  return { authorization, l7Fields: found, notes };
}

/**
 * Why the node tunnel does not receive this policy at all, or undefined when it does:
 * dry-run, bound to a waypoint with targetRef(s), or an action other than ALLOW/DENY.
 */
export function nodeTunnelSkipReason(policy: AuthorizationPolicyResource): string | undefined {
  const spec = policy.spec;
  if (isDryRun(policy.metadata.annotations?.[DRY_RUN_ANNOTATION])) {
    return 'dry-run policies are not sent to the node tunnel (Istio: AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY is off by default)';
  }
  if (spec.targetRef !== undefined || (spec.targetRefs ?? []).length > 0) {
    return 'bound with targetRef(s): a waypoint enforces it, not the node tunnel';
  }
  if (spec.action !== 'ALLOW' && spec.action !== 'DENY') {
    return `the node tunnel does not enforce the ${spec.action} action`;
  }
  return undefined;
}

/** Istio's scope rule: any selector (even one without labels) makes a workload policy. */
function policyScope(spec: PolicySpec, namespace: string, rootNamespace: string): Scope {
  if (spec.selector !== undefined) return Scope.WORKLOAD_SELECTOR;
  return namespace === rootNamespace ? Scope.GLOBAL : Scope.NAMESPACE;
}

interface ConvertedRule {
  readonly group: Group;
  readonly l7Fields: readonly string[];
  /** Fields the node tunnel does not receive that are not HTTP attributes either. */
  readonly ignored: readonly string[];
}

function convertRule(rule: PolicyRule, namespace: string): ConvertedRule {
  const l7Fields: string[] = [];
  const ignored: string[] = [];
  // The wire Rules of this policy rule's Group, all of which must match.
  const rules: Rules[] = [];

  const to = rule.to ?? [];
  if (to.length > 0) {
    const matches = to.map(({ operation = {} }) => {
      for (const field of [
        'hosts',
        'notHosts',
        'methods',
        'notMethods',
        'paths',
        'notPaths',
      ] as const) {
        if ((operation[field] ?? []).length > 0) l7Fields.push(field);
      }
      return create(MatchSchema, {
        destinationPorts: toPorts(operation.ports),
        notDestinationPorts: toPorts(operation.notPorts),
      });
    });
    rules.push(create(RulesSchema, { matches }));
  }

  const from = rule.from ?? [];
  if (from.length > 0) {
    const matches = from.map(({ source = {} }) => {
      // remoteIpBlocks come from X-Forwarded-For or PROXY headers: only a waypoint sees them.
      for (const field of [
        'remoteIpBlocks',
        'notRemoteIpBlocks',
        'requestPrincipals',
        'notRequestPrincipals',
      ] as const) {
        if ((source[field] ?? []).length > 0) l7Fields.push(field);
      }
      // Istio sends nothing for the deprecated trustDomains fields: they neither match nor
      // count as L7 (handleRule ignores them), so a source of only trustDomains is empty.
      for (const field of ['trustDomains', 'notTrustDomains'] as const) {
        if ((source[field] ?? []).length > 0) ignored.push(field);
      }
      return create(MatchSchema, {
        sourceIps: toAddresses(source.ipBlocks),
        notSourceIps: toAddresses(source.notIpBlocks),
        namespaces: toStringMatches(source.namespaces),
        notNamespaces: toStringMatches(source.notNamespaces),
        serviceAccounts: toServiceAccountMatches(source.serviceAccounts, namespace),
        notServiceAccounts: toServiceAccountMatches(source.notServiceAccounts, namespace),
        principals: toStringMatches(source.principals),
        notPrincipals: toStringMatches(source.notPrincipals),
      });
    });
    rules.push(create(RulesSchema, { matches }));
  }

  for (const condition of rule.when ?? []) {
    if (!L4_CONDITION_KEYS.has(condition.key)) l7Fields.push(condition.key);
    rules.push(create(RulesSchema, { matches: [conditionMatch(condition)] }));
  }

  return { group: create(GroupSchema, { rules }), l7Fields, ignored };
}

/** A `when` condition as one Match; an L7 key gives an empty Match, which never fires. */
function conditionMatch(condition: NonNullable<PolicyRule['when']>[number]): Match {
  const { values, notValues } = condition;
  switch (condition.key) {
    case 'source.ip':
      return create(MatchSchema, {
        sourceIps: toAddresses(values),
        notSourceIps: toAddresses(notValues),
      });
    case 'source.namespace':
      return create(MatchSchema, {
        namespaces: toStringMatches(values),
        notNamespaces: toStringMatches(notValues),
      });
    case 'source.principal':
      return create(MatchSchema, {
        principals: toStringMatches(values),
        notPrincipals: toStringMatches(notValues),
      });
    case 'destination.ip':
      return create(MatchSchema, {
        destinationIps: toAddresses(values),
        notDestinationIps: toAddresses(notValues),
      });
    case 'destination.port':
      return create(MatchSchema, {
        destinationPorts: toPorts(values),
        notDestinationPorts: toPorts(notValues),
      });
    default:
      return create(MatchSchema);
  }
}

function l7Notes(action: Action, l7Fields: readonly string[], groups: readonly Group[]): string[] {
  if (l7Fields.length === 0) return [];
  const found = `the node tunnel cannot check HTTP attributes (found: ${l7Fields.join(', ')}); a waypoint must enforce them`;
  if (action === Action.ALLOW) {
    return [`${found}. ALLOW rules using them were dropped, so they allow nothing`];
  }
  if (!groups.some(groupCanMatch)) {
    return [`${found}. Without them no DENY rule can match, so the policy has no effect here`];
  }
  return [`${found}. DENY rules are enforced without them, which denies more than asked`];
}

/** False when some Rules hold only empty Matches, which the node tunnel never matches. */
function groupCanMatch(group: Group): boolean {
  return group.rules.every(
    (rules) => rules.matches.length === 0 || rules.matches.some((m) => !isEmptyMatch(m)),
  );
}

function isEmptyMatch(match: Match): boolean {
  return (
    match.namespaces.length === 0 &&
    match.notNamespaces.length === 0 &&
    match.serviceAccounts.length === 0 &&
    match.notServiceAccounts.length === 0 &&
    match.principals.length === 0 &&
    match.notPrincipals.length === 0 &&
    match.sourceIps.length === 0 &&
    match.notSourceIps.length === 0 &&
    match.destinationIps.length === 0 &&
    match.notDestinationIps.length === 0 &&
    match.destinationPorts.length === 0 &&
    match.notDestinationPorts.length === 0
  );
}

/** Go's strconv.ParseBool, which Istio uses for the annotation; anything else is false. */
export function isDryRun(value: string | undefined): boolean {
  return value !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value);
}
