/**
 * AuthorizationPolicy (security.istio.io): every field of istio/api authorization_policy.proto
 * in its JSON form, with the rules of Istio's ValidateAuthorizationPolicy and of the CRD's
 * own validations. Each rule reports at the field that breaks it.
 */
import { s } from '../schema/index.js';
import type { Check, CheckContext, Infer } from '../schema/index.js';
import {
  conditionKeyProblem,
  conditionValueProblem,
  unsupportedWithCustom,
} from './security-conditions.js';
import {
  policyTargetReference,
  policyTargetReferences,
  workloadSelector,
} from './security-targets.js';
import {
  ipBlockProblem,
  MAX_SERVICE_ACCOUNTS,
  pathTemplateProblem,
  portStringProblem,
  serviceAccountProblem,
  trustDomainProblem,
} from './security-values.js';

type Problem = (value: string) => string | undefined;

/** A list of strings, each non-empty and passing `problem`. */
function valueList(problem?: Problem, options: { maxItems?: number } = {}) {
  return s.array(
    s.string().check((value, ctx) => {
      const reason = value === '' ? 'must not be empty' : problem?.(value);
      if (reason !== undefined) ctx.issue('', reason);
    }),
    options,
  );
}

const values = valueList();
const ipBlocks = valueList(ipBlockProblem);
const serviceAccounts = valueList(serviceAccountProblem, { maxItems: MAX_SERVICE_ACCOUNTS });
const trustDomains = valueList(trustDomainProblem);
const ports = valueList(portStringProblem);
const paths = valueList(pathTemplateProblem);

const sourceFields = s.object({
  principals: values.optional(),
  notPrincipals: values.optional(),
  requestPrincipals: values.optional(),
  notRequestPrincipals: values.optional(),
  namespaces: values.optional(),
  notNamespaces: values.optional(),
  serviceAccounts: serviceAccounts.optional(),
  notServiceAccounts: serviceAccounts.optional(),
  ipBlocks: ipBlocks.optional(),
  notIpBlocks: ipBlocks.optional(),
  remoteIpBlocks: ipBlocks.optional(),
  notRemoteIpBlocks: ipBlocks.optional(),
  trustDomains: trustDomains.optional(),
  notTrustDomains: trustDomains.optional(),
});

/** True when no list of `obj` holds a value: Istio refuses such an empty match. */
function allEmpty(obj: Readonly<Record<string, readonly string[] | undefined>>): boolean {
  return Object.values(obj).every((list) => list === undefined || list.length === 0);
}

const IDENTITY_FIELDS = ['principals', 'notPrincipals', 'namespaces', 'notNamespaces'] as const;

/** Source: the peer (and request) a rule matches; at least one field must be set. */
export const source = sourceFields.check((src, ctx) => {
  if (allEmpty(src)) {
    ctx.issue('', 'must not be empty: set at least one field, or leave out the from entry');
    return;
  }
  const identitySet = IDENTITY_FIELDS.some((f) => (src[f]?.length ?? 0) > 0);
  if (!identitySet) return;
  for (const field of ['serviceAccounts', 'notServiceAccounts'] as const) {
    if ((src[field]?.length ?? 0) > 0) {
      ctx.issue(
        field,
        'cannot be set together with principals, notPrincipals, namespaces or notNamespaces',
      );
    }
  }
}, 'At least one field is set; serviceAccounts and notServiceAccounts exclude principals and namespaces.');
export type Source = Infer<typeof source>;

/** Operation: the request a rule matches; at least one field must be set. */
export const operation = s
  .object({
    hosts: values.optional(),
    notHosts: values.optional(),
    ports: ports.optional(),
    notPorts: ports.optional(),
    methods: values.optional(),
    notMethods: values.optional(),
    paths: paths.optional(),
    notPaths: paths.optional(),
  })
  .check((op, ctx) => {
    if (allEmpty(op)) {
      ctx.issue('', 'must not be empty: set at least one field, or leave out the to entry');
    }
  }, 'At least one field is set.');
export type Operation = Infer<typeof operation>;

/** Condition: an attribute Istio knows, tested against values and/or notValues. */
export const condition = s
  .object({
    key: s.string(),
    values: s.array(s.string()).optional(),
    notValues: s.array(s.string()).optional(),
  })
  .check((c, ctx) => {
    const keyProblem = conditionKeyProblem(c.key);
    if (keyProblem !== undefined) {
      ctx.issue('key', keyProblem);
      return;
    }
    if ((c.values?.length ?? 0) === 0 && (c.notValues?.length ?? 0) === 0) {
      ctx.issue('', `at least one of values or notValues must be set for key ${c.key}`);
      return;
    }
    for (const field of ['values', 'notValues'] as const) {
      const list = c[field] ?? [];
      list.forEach((value, i) => {
        const problem = conditionValueProblem(c.key, value);
        if (problem !== undefined) ctx.issue(`${field}[${i}]`, problem);
      });
      if (c.key === 'source.serviceAccount' && list.length > MAX_SERVICE_ACCOUNTS) {
        ctx.issue(field, `must have at most ${MAX_SERVICE_ACCOUNTS} items`);
      }
    }
  }, 'key is a known Istio attribute; values or notValues is set and each value suits the key.');
export type Condition = Infer<typeof condition>;

/** Rule: from, to and when must all match. An empty `from` or `to` list is refused. */
export const rule = s.object({
  from: s.array(s.object({ source }), { minItems: 1, maxItems: 512 }).optional(),
  to: s.array(s.object({ operation }), { minItems: 1 }).optional(),
  when: s.array(condition).optional(),
});
export type Rule = Infer<typeof rule>;

export const ACTIONS = ['ALLOW', 'DENY', 'AUDIT', 'CUSTOM'] as const;
export type Action = (typeof ACTIONS)[number];

/** Source fields the CUSTOM action (ext_authz) cannot test. */
const CUSTOM_UNSUPPORTED_SOURCE = [
  'principals',
  'notPrincipals',
  'requestPrincipals',
  'notRequestPrincipals',
  'namespaces',
  'notNamespaces',
  'serviceAccounts',
  'notServiceAccounts',
  'trustDomains',
  'notTrustDomains',
] as const;

const authorizationPolicyFields = s
  .object({
    selector: workloadSelector.optional(),
    targetRef: policyTargetReference.optional(),
    targetRefs: policyTargetReferences.optional(),
    rules: s.array(rule, { maxItems: 512 }).optional(),
    action: s.enumOf(...ACTIONS).default('ALLOW'),
    provider: s.object({ name: s.string().optional() }).optional(),
  })
  .oneOf(['selector', 'targetRef', 'targetRefs']);
type AuthorizationPolicyFields = Infer<typeof authorizationPolicyFields>;

function checkCustomRules(rules: readonly Rule[], ctx: CheckContext): void {
  rules.forEach((r, i) => {
    r.from?.forEach((f, j) => {
      for (const field of CUSTOM_UNSUPPORTED_SOURCE) {
        if ((f.source[field]?.length ?? 0) > 0) {
          ctx.issue(
            `rules[${i}].from[${j}].source.${field}`,
            'is not supported with action CUSTOM',
          );
        }
      }
    });
    r.when?.forEach((c, j) => {
      if (unsupportedWithCustom(c.key)) {
        ctx.issue(`rules[${i}].when[${j}].key`, `${c.key} is not supported with action CUSTOM`);
      }
    });
  });
}

const actionRules: Check<AuthorizationPolicyFields> = (spec, ctx) => {
  const rules = spec.rules ?? [];
  // Istio cannot tell `rules: []` from no rules: both never match anything.
  if ((spec.action === 'DENY' || spec.action === 'CUSTOM') && rules.length === 0) {
    ctx.issue(
      'rules',
      `${spec.action} action without rules is meaningless as it will never be triggered; ` +
        'add an empty rule {} to apply it to every request',
    );
  }
  if (spec.action === 'CUSTOM') {
    if (spec.provider?.name === undefined || spec.provider.name === '') {
      ctx.issue('provider.name', 'must be set for action CUSTOM');
    }
    checkCustomRules(rules, ctx);
  } else if (spec.provider !== undefined) {
    ctx.issue(
      'provider',
      `must not be set with action ${spec.action}; only CUSTOM takes a provider`,
    );
  }
};

export const authorizationPolicySpec = authorizationPolicyFields.check(
  actionRules,
  'DENY and CUSTOM need rules; CUSTOM needs provider.name and cannot match on identities; ' +
    'provider is only for CUSTOM.',
);
export type AuthorizationPolicySpec = Infer<typeof authorizationPolicySpec>;
