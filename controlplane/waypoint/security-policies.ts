/**
 * AuthorizationPolicy and RequestAuthentication → the `policies` and `jwtRules` of a
 * WaypointService (api/waypoint/security.ts). What the control plane can settle it settles:
 * service accounts become principal patterns, a bare service account takes the policy's
 * namespace, ports become numbers. Policies come in the model's order (namespace, name).
 *
 * Two attributes a waypoint cannot evaluate are handled as Istio handles fields a proxy
 * cannot check: a rule using one is dropped from an ALLOW policy (it allows nothing) and the
 * condition is left out of any other (a DENY then denies more than asked). They are
 * `experimental.envoy.filters.*` (Envoy filter metadata) and `trustDomains` with a wildcard.
 */
import type {
  AuthorizationPolicyResource,
  RequestAuthenticationResource,
} from '../../api/resources/index.js';
import type {
  JwtRule,
  PolicyCondition,
  PolicyOperation,
  PolicyRule,
  PolicySource,
  WaypointPolicy,
} from '../../api/waypoint/config.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { MeshService } from '../model/services.js';
import type { Waypoint } from '../model/waypoints.js';
import { bindsAtWaypoint, isDryRunPolicy } from './security-binding.js';

type PolicySpec = AuthorizationPolicyResource['spec'];
type SpecRule = NonNullable<PolicySpec['rules']>[number];
type SpecSource = NonNullable<SpecRule['from']>[number]['source'];
type SpecOperation = NonNullable<SpecRule['to']>[number]['operation'];

/** `ns/sa` or a bare `sa` (the policy's namespace) as a principal pattern in any trust domain. */
function serviceAccountPrincipal(value: string, policyNamespace: string): string {
  const slash = value.indexOf('/');
  const [ns, sa] =
    slash < 0 ? [policyNamespace, value] : [value.slice(0, slash), value.slice(slash + 1)];
  return `*/ns/${ns}/sa/${sa}`;
}

function nonEmpty<T>(list: readonly T[] | undefined): readonly T[] | undefined {
  return list === undefined || list.length === 0 ? undefined : list;
}

/** The list, or undefined when empty; `out` gets only the fields that are set. */
function put<K extends string, T>(
  out: Partial<Record<K, readonly T[]>>,
  key: K,
  list?: readonly T[],
) {
  const kept = nonEmpty(list);
  if (kept !== undefined) out[key] = kept;
}

/** The source, or undefined when it holds a field the waypoint cannot check. */
function convertSource(source: SpecSource, namespace: string): PolicySource | undefined {
  const out: Record<string, readonly string[]> = {};
  for (const field of [
    'principals',
    'notPrincipals',
    'requestPrincipals',
    'notRequestPrincipals',
    'namespaces',
    'notNamespaces',
    'ipBlocks',
    'notIpBlocks',
    'remoteIpBlocks',
    'notRemoteIpBlocks',
  ] as const) {
    put(out, field, source[field]);
  }
  // The schema keeps serviceAccounts apart from principals, so they can take their place.
  const toPrincipals = (list: readonly string[] | undefined) =>
    list?.map((sa) => serviceAccountPrincipal(sa, namespace));
  if (source.serviceAccounts !== undefined)
    put(out, 'principals', toPrincipals(source.serviceAccounts));
  if (source.notServiceAccounts !== undefined)
    put(out, 'notPrincipals', toPrincipals(source.notServiceAccounts));
  for (const [field, target] of [
    ['trustDomains', 'principals'],
    ['notTrustDomains', 'notPrincipals'],
  ] as const) {
    const domains = nonEmpty(source[field]);
    if (domains === undefined) continue;
    if (out[target] !== undefined || domains.some((d) => d.includes('*'))) return undefined;
    out[target] = domains.map((d) => `${d}/*`);
  }
  return out as PolicySource;
}

function convertOperation(operation: SpecOperation): PolicyOperation {
  const out: Record<string, readonly (string | number)[]> = {};
  for (const field of ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'] as const)
    put(out, field, operation[field]);
  put(out, 'ports', operation.ports?.map(Number));
  put(out, 'notPorts', operation.notPorts?.map(Number));
  return out as PolicyOperation;
}

/** The condition as the waypoint evaluates it, or undefined when it cannot. */
function convertCondition(
  condition: NonNullable<SpecRule['when']>[number],
  namespace: string,
): PolicyCondition | undefined {
  const { key } = condition;
  if (key.startsWith('experimental.envoy.filters.')) return undefined;
  const out: { key: string; values?: string[]; notValues?: string[] } = { key };
  const map =
    key === 'source.serviceAccount'
      ? (v: string) => serviceAccountPrincipal(v, namespace)
      : (v: string) => v;
  if (key === 'source.serviceAccount') out.key = 'source.principal';
  if ((condition.values?.length ?? 0) > 0) out.values = condition.values!.map(map);
  if ((condition.notValues?.length ?? 0) > 0) out.notValues = condition.notValues!.map(map);
  return out;
}

/** The rule, or undefined when it must be dropped (an ALLOW rule the waypoint cannot check). */
function convertRule(rule: SpecRule, namespace: string, strict: boolean): PolicyRule | undefined {
  const out: { from?: PolicySource[]; to?: PolicyOperation[]; when?: PolicyCondition[] } = {};
  if (rule.from !== undefined) {
    const from: PolicySource[] = [];
    for (const { source } of rule.from) {
      const converted = convertSource(source, namespace);
      if (converted === undefined && strict) return undefined;
      // Elsewhere a source the waypoint cannot check matches any peer: denies more, never less.
      from.push(converted ?? {});
    }
    out.from = from;
  }
  if (rule.to !== undefined) out.to = rule.to.map(({ operation }) => convertOperation(operation));
  if (rule.when !== undefined) {
    const when: PolicyCondition[] = [];
    for (const condition of rule.when) {
      const converted = convertCondition(condition, namespace);
      if (converted === undefined && strict) return undefined;
      if (converted !== undefined) when.push(converted);
    }
    if (when.length > 0) out.when = when;
  }
  return out;
}

export function convertPolicy(policy: AuthorizationPolicyResource): WaypointPolicy {
  const namespace = policy.metadata.namespace ?? 'default';
  const action = policy.spec.action;
  const rules: PolicyRule[] = [];
  for (const rule of policy.spec.rules ?? []) {
    const converted = convertRule(rule, namespace, action === 'ALLOW');
    if (converted !== undefined) rules.push(converted);
  }
  return { name: `${namespace}/${policy.metadata.name}`, action, rules };
}

export function convertJwtRules(policy: RequestAuthenticationResource): JwtRule[] {
  const name = `${policy.metadata.namespace ?? 'default'}/${policy.metadata.name}`;
  return (policy.spec.jwtRules ?? []).map((rule) => {
    const out: {
      -readonly [K in keyof JwtRule]: JwtRule[K];
    } = {
      policy: name,
      issuer: rule.issuer,
      forwardOriginalToken: rule.forwardOriginalToken ?? false,
    };
    if ((rule.audiences?.length ?? 0) > 0) out.audiences = rule.audiences;
    if (rule.jwks !== undefined) out.jwks = rule.jwks;
    else if (rule.jwksUri !== undefined) out.jwksUri = rule.jwksUri;
    if ((rule.fromHeaders?.length ?? 0) > 0) out.fromHeaders = rule.fromHeaders;
    if ((rule.fromParams?.length ?? 0) > 0) out.fromParams = rule.fromParams;
    if (rule.outputPayloadToHeader !== undefined && rule.outputPayloadToHeader !== '')
      out.outputPayloadToHeader = rule.outputPayloadToHeader;
    if ((rule.outputClaimToHeaders?.length ?? 0) > 0)
      out.outputClaimToHeaders = rule.outputClaimToHeaders;
    return out;
  });
}

/** The security fields of one WaypointService; absent fields when nothing applies. */
export function securityFor(
  model: MeshModel,
  service: MeshService,
  waypoint: Waypoint,
  rootNamespace: string,
): { policies?: WaypointPolicy[]; jwtRules?: JwtRule[] } {
  const policies = model.authorizationPolicies
    .filter((p) => !isDryRunPolicy(p) && bindsAtWaypoint(p, service, waypoint, rootNamespace))
    .map(convertPolicy);
  const jwtRules = model.requestAuthentications
    .filter((p) => bindsAtWaypoint(p, service, waypoint, rootNamespace))
    .flatMap(convertJwtRules);
  return {
    ...(policies.length > 0 ? { policies } : {}),
    ...(jwtRules.length > 0 ? { jwtRules } : {}),
  };
}
