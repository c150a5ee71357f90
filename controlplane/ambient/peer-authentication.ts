/**
 * PeerAuthentication → `istio.security.Authorization` DENY policies for the node tunnel.
 *
 * The node tunnel never receives PeerAuthentication itself. Following Istio
 * (pilot/pkg/serviceregistry/ambient/policies.go and authorization.go):
 * - STRICT is a DENY of peers without an identity (`not_principals: [presence]`). One static
 *   policy, `<root>/istio_converted_static_strict`, carries it; it is published whenever any
 *   PeerAuthentication exists, and a workload whose effective mode is STRICT lists it;
 * - PERMISSIVE and DISABLE produce nothing: ztunnel always accepts plaintext and mTLS (so
 *   DISABLE behaves as PERMISSIVE in ambient);
 * - only a workload-selector policy outside the root namespace with `portLevelMtls` gets its
 *   own policy, `<ns>/converted_peer_authentication_<name>`, holding the port exceptions
 *   merged with the strictness it overrides (two DENY policies cannot express "strict except
 *   port 9090", since any matching DENY wins);
 * - precedence is workload > namespace > mesh; UNSET inherits; at each level the oldest policy
 *   wins (by creationTimestamp, then name, then namespace); selector policies in the root
 *   namespace are ignored.
 *
 * Where Istio's two halves disagree, one model here serves both the conversion and the
 * workload's policy list, so a workload never lists a policy that does not exist:
 * - a STRICT port under a PERMISSIVE/DISABLE workload policy is enforced even when the mesh
 *   is STRICT (Istio's operator precedence drops that port: convertPeerAuthentication);
 * - a DISABLE port under a workload that inherits STRICT is an exception like PERMISSIVE
 *   (Istio converts it but then attaches the static policy instead);
 * - a namespace policy with mode UNSET inherits the mesh mode for port exceptions too;
 * - the identity requirement appears once in a merged policy (Istio may add it twice).
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
  type Rules,
} from '../../api/gen/istio/security/authorization_pb.js';
import type { PeerAuthenticationResource } from '../../api/resources/index.js';
import type { AmbientPolicyOptions } from './authorization.js';
import { presenceMatch } from './authorization-values.js';
import { isEmptySelector, selectorMatches, type Labels } from './selector.js';

/** Istio's names; `_` cannot appear in Kubernetes names, so they never collide with a user's policy. */
export const STATIC_STRICT_POLICY_NAME = 'istio_converted_static_strict';
export const CONVERTED_PEER_AUTHENTICATION_PREFIX = 'converted_peer_authentication_';

type MtlsMode = 'UNSET' | 'DISABLE' | 'PERMISSIVE' | 'STRICT';

/** A workload as PeerAuthentication sees it. */
export interface PolicyWorkload {
  readonly namespace: string;
  readonly labels: Labels;
}

/**
 * Every Authorization that PeerAuthentications produce: the static STRICT policy (when any
 * PeerAuthentication exists) and one per workload policy with port-level exceptions.
 */
export function convertPeerAuthentications(
  all: readonly PeerAuthenticationResource[],
  options: AmbientPolicyOptions,
): Authorization[] {
  if (all.length === 0) return [];
  const converted: Authorization[] = [staticStrictAuthorization(options.rootNamespace)];
  for (const policy of sortedByAge(all)) {
    const authorization = convertWorkloadPeerAuthentication(policy, all, options);
    if (authorization !== undefined) converted.push(authorization);
  }
  return converted;
}

/** `<root>/istio_converted_static_strict`: deny every peer that has no identity. */
export function staticStrictAuthorization(rootNamespace: string): Authorization {
  return create(AuthorizationSchema, {
    name: STATIC_STRICT_POLICY_NAME,
    namespace: rootNamespace,
    scope: Scope.WORKLOAD_SELECTOR,
    action: Action.DENY,
    groups: [create(GroupSchema, { rules: [requireIdentity()] })],
  });
}

/**
 * The `ns/name` of the PeerAuthentication-derived policies a workload lists: the static STRICT
 * policy when its effective mode is STRICT without port exceptions, or its own workload
 * policy's converted form when that has port-level rules; otherwise none.
 */
export function peerAuthenticationPolicyNames(
  workload: PolicyWorkload,
  all: readonly PeerAuthenticationResource[],
  options: AmbientPolicyOptions,
): string[] {
  const { rootNamespace } = options;
  const inherited = inheritedStrict(workload.namespace, all, rootNamespace);
  const workloadPolicy =
    workload.namespace === rootNamespace
      ? undefined
      : oldest(
          all.filter(
            (p) =>
              namespaceOf(p) === workload.namespace &&
              !isNamespaceWide(p) &&
              selectorMatches(p.spec.selector ?? {}, workload.labels),
          ),
        );
  if (workloadPolicy === undefined) {
    return inherited ? [`${rootNamespace}/${STATIC_STRICT_POLICY_NAME}`] : [];
  }
  const plan = portPlan(workloadPolicy, inherited);
  if (plan.portOverrides > 0) {
    return [`${namespaceOf(workloadPolicy)}/${convertedName(workloadPolicy)}`];
  }
  return plan.strict ? [`${rootNamespace}/${STATIC_STRICT_POLICY_NAME}`] : [];
}

function convertWorkloadPeerAuthentication(
  policy: PeerAuthenticationResource,
  all: readonly PeerAuthenticationResource[],
  options: AmbientPolicyOptions,
): Authorization | undefined {
  const namespace = namespaceOf(policy);
  if (namespace === options.rootNamespace || isNamespaceWide(policy)) return undefined;
  const plan = portPlan(policy, inheritedStrict(namespace, all, options.rootNamespace));
  if (plan.portOverrides === 0) return undefined;

  let groups: Group[];
  if (plan.strict) {
    // One Group: no identity AND not on any exempted port. When the workload policy says
    // STRICT itself the identity Rules come first, when it inherits STRICT last (Istio's order).
    const exemptions = plan.exemptPorts.map((port) =>
      create(RulesSchema, { matches: [create(MatchSchema, { notDestinationPorts: [port] })] }),
    );
    const rules =
      modeOf(policy.spec.mtls) === 'STRICT'
        ? [requireIdentity(), ...exemptions]
        : [...exemptions, requireIdentity()];
    groups = [create(GroupSchema, { rules })];
  } else {
    // One Group per STRICT port: no identity on that port.
    groups = plan.strictPorts.map((port) =>
      create(GroupSchema, {
        rules: [
          create(RulesSchema, {
            matches: [
              create(MatchSchema, { notPrincipals: [presenceMatch()], destinationPorts: [port] }),
            ],
          }),
        ],
      }),
    );
  }
  return create(AuthorizationSchema, {
    name: convertedName(policy),
    namespace,
    scope: Scope.WORKLOAD_SELECTOR,
    action: Action.DENY,
    groups,
  });
}

interface PortPlan {
  /** The workload's own mode, after inheritance: STRICT or not. */
  readonly strict: boolean;
  /** Under STRICT: PERMISSIVE/DISABLE ports, ascending. */
  readonly exemptPorts: readonly number[];
  /** Not under STRICT: STRICT ports, ascending. */
  readonly strictPorts: readonly number[];
  /** How many ports override the workload's own mode; 0 = no converted policy. */
  readonly portOverrides: number;
}

/** Port modes that differ from the workload's own mode; UNSET ports follow the workload. */
function portPlan(policy: PeerAuthenticationResource, inherited: boolean): PortPlan {
  const mode = modeOf(policy.spec.mtls);
  const strict = mode === 'STRICT' || (mode === 'UNSET' && inherited);
  const ports = Object.entries(policy.spec.portLevelMtls ?? {})
    .map(([port, mtls]) => ({ port: Number(port), mode: modeOf(mtls) }))
    .filter((p) => Number.isInteger(p.port))
    .sort((a, b) => a.port - b.port);
  const exemptPorts = strict
    ? ports.filter((p) => p.mode === 'PERMISSIVE' || p.mode === 'DISABLE').map((p) => p.port)
    : [];
  const strictPorts = strict ? [] : ports.filter((p) => p.mode === 'STRICT').map((p) => p.port);
  return {
    strict,
    exemptPorts,
    strictPorts,
    portOverrides: exemptPorts.length + strictPorts.length,
  };
}

/** Mesh mode (UNSET = not strict), overridden by the namespace's mode unless UNSET. */
function inheritedStrict(
  namespace: string,
  all: readonly PeerAuthenticationResource[],
  rootNamespace: string,
): boolean {
  const wide = (ns: string): PeerAuthenticationResource | undefined =>
    oldest(all.filter((p) => namespaceOf(p) === ns && isNamespaceWide(p)));
  const meshMode = modeOf(wide(rootNamespace)?.spec.mtls);
  const namespaceMode = namespace === rootNamespace ? 'UNSET' : modeOf(wide(namespace)?.spec.mtls);
  return namespaceMode === 'UNSET' ? meshMode === 'STRICT' : namespaceMode === 'STRICT';
}

/** A policy without a selector, or with one that has no labels, covers its whole namespace. */
function isNamespaceWide(policy: PeerAuthenticationResource): boolean {
  return policy.spec.selector === undefined || isEmptySelector(policy.spec.selector);
}

function requireIdentity(): Rules {
  return create(RulesSchema, {
    matches: [create(MatchSchema, { notPrincipals: [presenceMatch()] })],
  });
}

function convertedName(policy: PeerAuthenticationResource): string {
  return `${CONVERTED_PEER_AUTHENTICATION_PREFIX}${policy.metadata.name}`;
}

function modeOf(mtls: { mode?: MtlsMode | undefined } | undefined): MtlsMode {
  return mtls?.mode ?? 'UNSET';
}

function namespaceOf(policy: PeerAuthenticationResource): string {
  return policy.metadata.namespace ?? '';
}

function oldest(
  policies: readonly PeerAuthenticationResource[],
): PeerAuthenticationResource | undefined {
  return sortedByAge(policies)[0];
}

/** Oldest first; a missing timestamp counts as oldest (Go's zero time), ties by name, then namespace. */
function sortedByAge(
  policies: readonly PeerAuthenticationResource[],
): PeerAuthenticationResource[] {
  const created = (p: PeerAuthenticationResource): number => {
    const ms = Date.parse(p.metadata.creationTimestamp ?? '');
    return Number.isNaN(ms) ? Number.NEGATIVE_INFINITY : ms;
  };
  return [...policies].sort(
    (a, b) =>
      created(a) - created(b) ||
      compare(a.metadata.name, b.metadata.name) ||
      compare(namespaceOf(a), namespaceOf(b)),
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
