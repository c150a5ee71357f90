/**
 * HTTPRoute (gateway.networking.k8s.io): the fields of apis/v1/httproute_types.go, with the
 * CRD's limits, defaults and validation rules. `retry` comes from the experimental channel,
 * which Istio implements.
 */
import { regexProblem, s } from '../schema/index.js';
import type { CheckContext, Infer } from '../schema/index.js';
import {
  backendRefFields,
  gatewayDuration,
  gatewayDurationMs,
  headerName,
  HTTP_METHODS,
  hostname,
  parentReference,
  reportDuplicates,
  sectionName,
  servicePortRequired,
} from './gateway-api-common.js';
import type { ParentReference } from './gateway-api-common.js';
import { httpRouteFilters } from './gateway-api-filters.js';
import type { HTTPRouteFilter } from './gateway-api-filters.js';

const PATH_CHARS = /^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|%[0-9a-fA-F]{2})+$/;

/** Why an Exact or PathPrefix value is not a clean absolute path, or undefined. */
function literalPathProblem(value: string): string | undefined {
  if (!value.startsWith('/')) return "must be an absolute path starting with '/'";
  for (const bad of ['//', '/./', '/../', '%2f', '%2F', '#']) {
    if (value.includes(bad)) return `must not contain '${bad}'`;
  }
  for (const bad of ['/..', '/.']) {
    if (value.endsWith(bad)) return `must not end with '${bad}'`;
  }
  if (!PATH_CHARS.test(value)) {
    return "must contain only URI path characters (letters, digits, -._~!$&'()*+,;=:@/ and %XX escapes)";
  }
  return undefined;
}

const MAX_PATH_LENGTH = 1024;
const DEFAULT_PATH = { type: 'PathPrefix', value: '/' } as const;

export const pathMatch = s
  .object({
    type: s.enumOf('Exact', 'PathPrefix', 'RegularExpression').default('PathPrefix'),
    value: s.string({ maxLength: MAX_PATH_LENGTH }).default('/'),
  })
  .check((p, ctx) => {
    // An over-long value is already reported by its maxLength.
    if (p.value.length > MAX_PATH_LENGTH) return;
    const problem =
      p.type === 'RegularExpression' ? regexProblem(p.value) : literalPathProblem(p.value);
    if (problem !== undefined) ctx.issue('value', problem);
  }, 'Exact and PathPrefix values are clean absolute paths; a RegularExpression compiles.');
export type HTTPPathMatch = Infer<typeof pathMatch>;

/** Header and query parameter matches: an exact value by default, or a regex. */
function valueMatch(maxValueLength: number) {
  return s
    .object({
      type: s.enumOf('Exact', 'RegularExpression').default('Exact'),
      name: headerName,
      value: s.string({ minLength: 1, maxLength: maxValueLength }),
    })
    .check((m, ctx) => {
      const problem = m.type === 'RegularExpression' ? regexProblem(m.value) : undefined;
      if (problem !== undefined) ctx.issue('value', problem);
    }, 'A RegularExpression value compiles.');
}

function uniqueNames<T extends { name: string }>(what: string) {
  return (items: readonly T[], ctx: CheckContext) =>
    reportDuplicates(
      items,
      (m) => m.name,
      (i) => `[${i}].name`,
      (m) => `duplicate ${what} name ${m.name}`,
      ctx,
    );
}

const headerMatch = valueMatch(4096);
const queryParamMatch = valueMatch(1024);
export type HTTPHeaderMatch = Infer<typeof headerMatch>;
export type HTTPQueryParamMatch = Infer<typeof queryParamMatch>;

export const routeMatch = s.object({
  path: pathMatch.default({ ...DEFAULT_PATH }),
  headers: s
    .array(headerMatch, { maxItems: 16 })
    .check(uniqueNames('header'), 'Header names are unique.')
    .optional(),
  queryParams: s
    .array(queryParamMatch, { maxItems: 16 })
    .check(uniqueNames('query parameter'), 'Query parameter names are unique.')
    .optional(),
  method: s.enumOf(...HTTP_METHODS).optional(),
});
export type HTTPRouteMatch = Infer<typeof routeMatch>;

export const httpBackendRef = s
  .object({ ...backendRefFields, filters: httpRouteFilters.optional() })
  .check(servicePortRequired, 'port is required for a Service.');
export type HTTPBackendRef = Infer<typeof httpBackendRef>;

export const timeouts = s
  .object({
    request: gatewayDuration.optional(),
    backendRequest: gatewayDuration.optional(),
  })
  .check((t, ctx) => {
    if (t.request === undefined || t.backendRequest === undefined) return;
    const request = gatewayDurationMs(t.request);
    // A request timeout of 0s means none, so any backendRequest timeout fits in it.
    if (request !== 0 && gatewayDurationMs(t.backendRequest) > request) {
      ctx.issue('backendRequest', 'backendRequest timeout cannot be longer than request timeout');
    }
  }, 'backendRequest is at most request (unless request is 0s).');
export type HTTPRouteTimeouts = Infer<typeof timeouts>;

export const retry = s.object({
  codes: s
    .array(s.integer({ minimum: 400, maximum: 599 }))
    .check((codes, ctx) => {
      reportDuplicates(
        codes,
        String,
        (i) => `[${i}]`,
        (c) => `duplicate status code ${c}`,
        ctx,
      );
    }, 'Codes are unique.')
    .optional(),
  attempts: s.integer({ minimum: 1 }).optional(),
  backoff: gatewayDuration.optional(),
});
export type HTTPRouteRetry = Infer<typeof retry>;

function usesReplacePrefixMatch(filters: readonly HTTPRouteFilter[] | undefined): boolean {
  return (filters ?? []).some(
    (f) =>
      f.requestRedirect?.path?.type === 'ReplacePrefixMatch' ||
      f.urlRewrite?.path?.type === 'ReplacePrefixMatch',
  );
}

const ruleFields = s.object({
  name: sectionName.optional(),
  matches: s.array(routeMatch, { maxItems: 64 }).default([{ path: { ...DEFAULT_PATH } }]),
  filters: httpRouteFilters.optional(),
  backendRefs: s.array(httpBackendRef, { maxItems: 16 }).optional(),
  timeouts: timeouts.optional(),
  retry: retry.optional(),
});

export const httpRouteRule = ruleFields.check((rule, ctx) => {
  if ((rule.backendRefs?.length ?? 0) > 0) {
    rule.filters?.forEach((f, i) => {
      if (f.type === 'RequestRedirect') {
        ctx.issue(
          `filters[${i}]`,
          'RequestRedirect filter must not be used together with backendRefs',
        );
      }
    });
  }
  const prefixRewrite =
    usesReplacePrefixMatch(rule.filters) ||
    (rule.backendRefs ?? []).some((b) => usesReplacePrefixMatch(b.filters));
  const [first] = rule.matches;
  if (prefixRewrite && (rule.matches.length !== 1 || first?.path.type !== 'PathPrefix')) {
    ctx.issue(
      'matches',
      'must be exactly one PathPrefix match when a filter uses path.replacePrefixMatch',
    );
  }
}, 'No RequestRedirect with backendRefs; replacePrefixMatch needs exactly one PathPrefix match.');
export type HTTPRouteRule = Infer<typeof httpRouteRule>;

const MAX_TOTAL_MATCHES = 128;

function parentKey(p: ParentReference): string {
  return `${p.group}/${p.kind}/${p.namespace ?? ''}/${p.name}`;
}

/**
 * Two references to the same parent must tell themselves apart by sectionName or port: both
 * or neither set, and not the same. (The experimental channel's rule, which counts the port,
 * so a mesh route may attach to two ports of one Service.)
 */
function checkParentRefs(refs: readonly ParentReference[], ctx: CheckContext): void {
  refs.forEach((p, i) => {
    for (const q of refs.slice(0, i)) {
      if (parentKey(p) !== parentKey(q)) continue;
      const sameShape =
        (p.sectionName === undefined) === (q.sectionName === undefined) &&
        (p.port === undefined) === (q.port === undefined);
      if (!sameShape) {
        ctx.issue(
          `[${i}]`,
          'sectionName or port must be specified when parentRefs includes 2 or more references to the same parent',
        );
        return;
      }
      if (p.sectionName === q.sectionName && p.port === q.port) {
        ctx.issue(
          `[${i}]`,
          'sectionName or port must be unique when parentRefs includes 2 or more references to the same parent',
        );
        return;
      }
    }
  });
}

export const httpRouteSpec = s.object({
  parentRefs: s
    .array(parentReference, { maxItems: 32 })
    .check(checkParentRefs, 'References to one parent differ by sectionName or port.')
    .optional(),
  hostnames: s.array(hostname, { maxItems: 16 }).optional(),
  rules: s
    .array(httpRouteRule, { minItems: 1, maxItems: 16 })
    .check((rules, ctx) => {
      const total = rules.reduce((n, r) => n + r.matches.length, 0);
      if (total > MAX_TOTAL_MATCHES) {
        ctx.issue(
          '',
          `the total number of matches across all rules must be at most ${MAX_TOTAL_MATCHES}, found ${total}`,
        );
      }
    }, `At most ${MAX_TOTAL_MATCHES} matches across all rules.`)
    .default([{ matches: [{ path: { ...DEFAULT_PATH } }] }]),
});
export type HTTPRouteSpec = Infer<typeof httpRouteSpec>;
