/**
 * HTTPRoutes attached to a service (GAMMA: a parentRef to the Service, or to an Istio
 * ServiceEntry), as Istio converts them (pilot/pkg/config/kube/gateway/conversion.go) and as
 * the Gateway API orders them:
 *
 * - every match of every rule is its own route; they are sorted Exact before PathPrefix
 *   before RegularExpression, longer paths first, then a method match, more header matches,
 *   more query matches; ties keep the routes' age (creation time, namespace, name) and rule
 *   order (Istio's sortHTTPRoutes, a stable sort);
 * - PathPrefix matches whole path segments (`/foo` matches `/foo` and `/foo/bar`, not
 *   `/foobar`; a trailing `/` is ignored): it becomes an exact route and a `/foo/` prefix
 *   route, each with the prefix replacement that gives Envoy's path_separated_prefix result;
 * - a rule whose backends weigh nothing answers 500; `timeouts.request` is the route timeout
 *   and `timeouts.backendRequest` the per-try timeout when `retry` is set, else the timeout;
 * - a route with a filter Istio does not implement (ExtensionRef) is left out whole.
 */
import type {
  HTTPBackendRef,
  HTTPHeaderFilter,
  HTTPRouteFilter,
  HTTPRouteMatch,
  HTTPRouteResource,
  HTTPRouteRule,
  BackendObjectReference,
} from '../../api/resources/index.js';
import { gatewayDurationMs } from '../../api/resources/index.js';
import {
  DEFAULT_RETRY_POLICY,
  type CorsPolicy,
  type HeaderMatch,
  type HttpRoute,
  type Mirror,
  type QueryMatch,
  type Redirect,
  type RequestMatch,
  type Rewrite,
  type RouteAction,
  type RouteDestination,
  type StringMatch,
} from '../../api/waypoint/config.js';
import type { MeshService } from '../model/services.js';
import { compact } from './compact.js';
import { translateHeaders } from './headers.js';
import type { TranslatedHeaders } from './headers.js';
import { gatewayRetryPolicy } from './retry.js';
import { refOf } from './refs.js';
import type { RouteContext } from './route-context.js';
import { compareAge } from './virtual-services.js';

/** An HTTPRoute attached to a service, on some of its ports or all. */
export interface AttachedRoute {
  readonly route: HTTPRouteResource;
  readonly ports: 'all' | ReadonlySet<number>;
}

function namespaceOf(route: HTTPRouteResource): string {
  return route.metadata.namespace ?? 'default';
}

/**
 * The routes whose parentRefs name the service. As for VirtualServices, a waypoint takes
 * routes written in the service's namespace or its own (Istio's getVirtualServiceForWaypoint);
 * `hostnames` do not apply to a Service parent.
 */
export function httpRoutesFor(
  all: readonly HTTPRouteResource[],
  service: MeshService,
  waypointNamespace: string,
): AttachedRoute[] {
  const [group, kind] =
    service.source === 'Service' ? ['', 'Service'] : ['networking.istio.io', 'ServiceEntry'];
  const out: AttachedRoute[] = [];
  for (const route of [...all].sort(compareAge)) {
    const namespace = namespaceOf(route);
    if (namespace !== service.namespace && namespace !== waypointNamespace) continue;
    const refs = (route.spec.parentRefs ?? []).filter(
      (p) =>
        p.group === group &&
        p.kind === kind &&
        (p.namespace ?? namespace) === service.namespace &&
        p.name === service.name,
    );
    if (refs.length === 0) continue;
    const ports = refs.some((p) => p.port === undefined)
      ? 'all'
      : new Set(refs.map((p) => p.port as number));
    out.push({ route, ports });
  }
  return out;
}

const ROUTE_FILTERS = new Set<HTTPRouteFilter['type']>([
  'RequestHeaderModifier',
  'ResponseHeaderModifier',
  'RequestRedirect',
  'RequestMirror',
  'URLRewrite',
  'CORS',
]);
const BACKEND_FILTERS = new Set<HTTPRouteFilter['type']>([
  'RequestHeaderModifier',
  'ResponseHeaderModifier',
]);

/** The first filter Istio refuses, which makes it drop the whole route. */
function unsupportedFilter(
  route: HTTPRouteResource,
): { field: string; reason: string } | undefined {
  for (const [i, rule] of route.spec.rules.entries()) {
    for (const [j, filter] of (rule.filters ?? []).entries()) {
      if (!ROUTE_FILTERS.has(filter.type)) {
        return {
          field: `spec.rules[${i}].filters[${j}]`,
          reason: `filter type ${filter.type} is not supported`,
        };
      }
    }
    for (const [j, backend] of (rule.backendRefs ?? []).entries()) {
      for (const [k, filter] of (backend.filters ?? []).entries()) {
        if (!BACKEND_FILTERS.has(filter.type)) {
          return {
            field: `spec.rules[${i}].backendRefs[${j}].filters[${k}]`,
            reason: `filter type ${filter.type} is not supported on a backend`,
          };
        }
      }
    }
  }
  return undefined;
}

function filter<T extends HTTPRouteFilter['type']>(
  filters: readonly HTTPRouteFilter[] | undefined,
  type: T,
) {
  return (filters ?? []).find((f) => f.type === type);
}

/** Istio's headerListToMap: lower-case names, the first entry of a name wins. */
function headerMap(list: readonly { name: string; value: string }[] | undefined) {
  if (list === undefined || list.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const { name, value } of list) {
    const key = name.toLowerCase();
    if (!Object.hasOwn(out, key)) out[key] = value;
  }
  return out;
}

function headerOperations(f: HTTPHeaderFilter | undefined) {
  return f && compact({ set: headerMap(f.set), add: headerMap(f.add), remove: f.remove });
}

function filterHeaders(filters: readonly HTTPRouteFilter[] | undefined): TranslatedHeaders {
  return translateHeaders(
    compact({
      request: headerOperations(filter(filters, 'RequestHeaderModifier')?.requestHeaderModifier),
      response: headerOperations(filter(filters, 'ResponseHeaderModifier')?.responseHeaderModifier),
    }),
  );
}

/** The host a backendRef names, or why it names none the waypoint can route to. */
function backendHost(
  ref: BackendObjectReference,
  routeNamespace: string,
  domainSuffix: string,
): { host: string } | { reason: string } {
  if (ref.group === '' && ref.kind === 'Service') {
    if (ref.name.includes('.')) {
      return { reason: 'a Service backend is named by the Service name, not a hostname' };
    }
    return { host: `${ref.name}.${ref.namespace ?? routeNamespace}.svc.${domainSuffix}` };
  }
  if (ref.group === 'networking.istio.io' && ref.kind === 'Hostname') {
    if (ref.namespace !== undefined) return { reason: 'a Hostname backend takes no namespace' };
    return { host: ref.name };
  }
  return { reason: `backend kind ${ref.group}/${ref.kind} is not supported` };
}

interface RuleSource {
  readonly route: HTTPRouteResource;
  readonly ruleIndex: number;
  readonly ctx: RouteContext;
}

/** The cluster a backend reference resolves to, or undefined (with an issue) when none. */
function backendCluster(
  ref: BackendObjectReference,
  field: string,
  source: RuleSource,
): string | undefined {
  const { route, ctx } = source;
  const target = backendHost(ref, namespaceOf(route), ctx.compile.model.domainSuffix);
  if ('reason' in target) {
    ctx.compile.issues.add({
      code: 'RouteFeatureUnsupported',
      object: refOf(route),
      field,
      reason: target.reason,
    });
    return undefined;
  }
  return ctx.clusters.resolve({ host: target.host, port: ref.port }, ctx.match.port, refOf(route));
}

function destinations(rule: HTTPRouteRule, source: RuleSource): RouteDestination[] {
  const weighted = (rule.backendRefs ?? [])
    .map((backend, j): [HTTPBackendRef, number] => [backend, j])
    .filter(([backend]) => backend.weight > 0);
  const out: RouteDestination[] = [];
  for (const [backend, j] of weighted) {
    const field = `spec.rules[${source.ruleIndex}].backendRefs[${j}]`;
    const cluster = backendCluster(backend, field, source);
    if (cluster === undefined) continue;
    const headers = filterHeaders(backend.filters);
    out.push(
      compact({
        cluster,
        weight: weighted.length === 1 ? 100 : backend.weight,
        headers: headers.operations,
        authority: headers.authority,
      }),
    );
  }
  return out;
}

function mirrors(rule: HTTPRouteRule, source: RuleSource): Mirror[] | undefined {
  const out: Mirror[] = [];
  for (const [j, f] of (rule.filters ?? []).entries()) {
    const mirror = f.requestMirror;
    if (f.type !== 'RequestMirror' || mirror === undefined) continue;
    const { fraction, percent } = mirror;
    const percentage =
      fraction !== undefined ? (100 * fraction.numerator) / fraction.denominator : (percent ?? 100);
    if (percentage <= 0) continue;
    const field = `spec.rules[${source.ruleIndex}].filters[${j}].requestMirror.backendRef`;
    const cluster = backendCluster(mirror.backendRef, field, source);
    if (cluster !== undefined) out.push({ cluster, percentage });
  }
  return out.length > 0 ? out : undefined;
}

function cors(rule: HTTPRouteRule): CorsPolicy | undefined {
  const c = filter(rule.filters, 'CORS')?.cors;
  return (
    c &&
    compact({
      allowOrigins: (c.allowOrigins ?? []).map((exact) => ({ exact })),
      allowMethods: [...(c.allowMethods ?? [])],
      allowHeaders: [...(c.allowHeaders ?? [])],
      exposeHeaders: [...(c.exposeHeaders ?? [])],
      maxAgeSeconds: c.maxAge > 0 ? c.maxAge : undefined,
      allowCredentials: c.allowCredentials === true ? true : undefined,
    })
  );
}

/** How a path match is split: a PathPrefix other than `/` is an exact part and a `below` part. */
type PathPart = 'whole' | 'exact' | 'below';

interface MatchPart {
  readonly uri: StringMatch;
  readonly part: PathPart;
}

/** Gateway API's "a trailing `/` is ignored" (Istio trims one). */
function trimmedPrefix(value: string): string {
  return value === '/' || !value.endsWith('/') ? value : value.slice(0, -1);
}

function pathParts(match: HTTPRouteMatch): MatchPart[] {
  const { type, value } = match.path;
  if (type === 'Exact') return [{ uri: { exact: value }, part: 'whole' }];
  if (type === 'RegularExpression') return [{ uri: { regex: value }, part: 'whole' }];
  const prefix = trimmedPrefix(value);
  if (prefix === '/') return [{ uri: { prefix }, part: 'whole' }];
  return [
    { uri: { exact: prefix }, part: 'exact' },
    { uri: { prefix: `${prefix}/` }, part: 'below' },
  ];
}

/** A replacement for the matched prefix of a `below` part, which matched a trailing `/` too. */
function belowReplacement(replacement: string): string {
  return replacement.endsWith('/') ? replacement : `${replacement}/`;
}

function rewrite(
  rule: HTTPRouteRule,
  part: PathPart,
  headerAuthority: string | undefined,
): Rewrite | undefined {
  const f = filter(rule.filters, 'URLRewrite')?.urlRewrite;
  const path = f?.path;
  let uri: string | undefined;
  let prefix: string | undefined;
  if (path?.type === 'ReplaceFullPath') uri = path.replaceFullPath;
  if (path?.type === 'ReplacePrefixMatch') {
    // Istio trims one trailing `/`; an empty result means "remove the prefix".
    const replacement = trimmedPrefix(path.replacePrefixMatch ?? '/') || '/';
    prefix = part === 'below' ? belowReplacement(replacement) : replacement;
  }
  const out = compact({ uri, prefix, authority: f?.hostname ?? headerAuthority });
  return Object.keys(out).length > 0 ? out : undefined;
}

function redirect(rule: HTTPRouteRule, part: PathPart): RouteAction | undefined {
  const f = filter(rule.filters, 'RequestRedirect')?.requestRedirect;
  if (f === undefined) return undefined;
  const path = f.path;
  const replacement =
    path?.type === 'ReplacePrefixMatch' ? (path.replacePrefixMatch ?? '/') : undefined;
  const out: Redirect = compact({
    uri: path?.type === 'ReplaceFullPath' ? path.replaceFullPath : undefined,
    prefixRewrite:
      replacement === undefined
        ? undefined
        : part === 'below'
          ? belowReplacement(replacement)
          : replacement,
    authority: f.hostname,
    scheme: f.scheme,
    port: f.port,
    // "When empty, the port of the request is used", unless the scheme changes.
    derivePort: f.port !== undefined ? undefined : f.scheme !== undefined ? 'protocol' : 'request',
    status: f.statusCode,
  });
  return { kind: 'redirect', redirect: out };
}

function otherConditions(match: HTTPRouteMatch, ctx: RouteContext): RequestMatch {
  const headers: HeaderMatch[] = (match.headers ?? []).map((h) => ({
    name: h.name.toLowerCase(),
    match: h.type === 'Exact' ? { exact: h.value } : { regex: h.value },
  }));
  const queryParams: QueryMatch[] = (match.queryParams ?? []).map((q) => ({
    name: q.name,
    match: q.type === 'Exact' ? { exact: q.value } : { regex: q.value },
  }));
  return compact({
    method: match.method === undefined ? undefined : { exact: match.method },
    headers: headers.length > 0 ? headers : undefined,
    queryParams: queryParams.length > 0 ? queryParams : undefined,
    port: ctx.match.pinPort ? ctx.match.port : undefined,
  });
}

/** One entry to sort: a single match of a rule (or a rule without matches). */
interface Entry {
  readonly source: RuleSource;
  readonly rule: HTTPRouteRule;
  readonly match: HTTPRouteMatch | undefined;
  readonly origin: string;
}

/** Istio's getURIRank / getURILength on the converted match. */
function pathRank(match: HTTPRouteMatch): [number, number] {
  const { type, value } = match.path;
  if (type === 'Exact') return [3, value.length];
  if (type === 'PathPrefix') return [2, trimmedPrefix(value).length];
  return [1, value.length];
}

/** Gateway API precedence (Istio's sortHTTPRoutes); negative: `a` first. */
function precedence(a: Entry, b: Entry): number {
  if (a.match === undefined || b.match === undefined) {
    return (a.match === undefined ? 1 : 0) - (b.match === undefined ? 1 : 0);
  }
  const [rankA, lengthA] = pathRank(a.match);
  const [rankB, lengthB] = pathRank(b.match);
  return (
    rankB - rankA ||
    lengthB - lengthA ||
    (b.match.method !== undefined ? 1 : 0) - (a.match.method !== undefined ? 1 : 0) ||
    (b.match.headers?.length ?? 0) - (a.match.headers?.length ?? 0) ||
    (b.match.queryParams?.length ?? 0) - (a.match.queryParams?.length ?? 0)
  );
}

function timing(rule: HTTPRouteRule) {
  const positive = (value: string | undefined) => {
    const ms = value === undefined ? 0 : gatewayDurationMs(value);
    return ms > 0 ? ms : undefined;
  };
  const request = positive(rule.timeouts?.request);
  const backend = positive(rule.timeouts?.backendRequest);
  if (rule.retry === undefined)
    return { timeoutMs: backend ?? request, retries: DEFAULT_RETRY_POLICY };
  return {
    timeoutMs: request,
    retries: gatewayRetryPolicy(rule.retry, {
      perTryTimeoutMs: backend,
      backoffMs: positive(rule.retry.backoff),
    }),
  };
}

/** The routes one entry becomes: one, or two for a split PathPrefix. */
function compileEntry(entry: Entry): HttpRoute[] {
  const { rule, source } = entry;
  const { ctx, route, ruleIndex } = source;
  const headers = filterHeaders(rule.filters);
  const weight = (rule.backendRefs ?? []).reduce((sum, b) => sum + b.weight, 0);
  const parts: (MatchPart | undefined)[] =
    entry.match === undefined ? [undefined] : pathParts(entry.match);
  // Backends and mirrors are resolved once for the entry, so every part shares them.
  const forwarded = weight > 0 && filter(rule.filters, 'RequestRedirect') === undefined;
  const dests = forwarded ? destinations(rule, source) : [];
  const mirrored = forwarded ? mirrors(rule, source) : undefined;
  const { timeoutMs, retries } = timing(rule);
  return parts.map((part) => {
    const matches: RequestMatch[] =
      entry.match === undefined
        ? ctx.match.pinPort
          ? [{ port: ctx.match.port }]
          : []
        : [compact({ uri: part?.uri, ...otherConditions(entry.match, ctx) })];
    const pathPart = part?.part ?? 'whole';
    const action: RouteAction =
      redirect(rule, pathPart) ??
      (dests.length > 0 ? { kind: 'route', destinations: dests } : { kind: 'direct', status: 500 });
    return compact({
      origin: entry.origin,
      name: rule.name ?? `${namespaceOf(route)}.${route.metadata.name}.${ruleIndex}`,
      matches,
      action,
      rewrite: action.kind === 'route' ? rewrite(rule, pathPart, headers.authority) : undefined,
      headers: headers.operations,
      timeoutMs,
      retries,
      mirrors: action.kind === 'route' ? mirrored : undefined,
      cors: cors(rule),
    });
  });
}

/** The HTTP routes of the attached HTTPRoutes that apply to the context's port, in precedence order. */
export function gatewayHttpRoutes(
  attached: readonly AttachedRoute[],
  ctx: RouteContext,
): HttpRoute[] {
  const entries: Entry[] = [];
  for (const { route, ports } of attached) {
    if (ports !== 'all' && !ports.has(ctx.match.port)) continue;
    const refused = unsupportedFilter(route);
    if (refused !== undefined) {
      ctx.compile.issues.add({ code: 'RouteFeatureUnsupported', object: refOf(route), ...refused });
      continue;
    }
    const base = `HTTPRoute ${namespaceOf(route)}/${route.metadata.name}`;
    route.spec.rules.forEach((rule, ruleIndex) => {
      const source: RuleSource = { route, ruleIndex, ctx };
      if (rule.matches.length === 0) {
        entries.push({ source, rule, match: undefined, origin: `${base} rules[${ruleIndex}]` });
      }
      rule.matches.forEach((match, j) => {
        const suffix = rule.matches.length > 1 ? `.matches[${j}]` : '';
        entries.push({ source, rule, match, origin: `${base} rules[${ruleIndex}]${suffix}` });
      });
    });
  }
  // Array.prototype.sort is stable, as Istio's sort.SliceStable.
  return entries.sort(precedence).flatMap(compileEntry);
}
