/**
 * A VirtualService `match` block as one waypoint port sees it (route.go translateRoute and
 * TranslateRouteMatch). Conditions a sidecar settles when its config is built are settled
 * here too: a match for another port, for gateways only, or for a scheme other than `http`
 * (all waypoint traffic is plaintext HTTP inside HBONE) is dropped.
 */
import { compileRe2 } from '../../api/schema/index.js';
import type {
  HTTPMatchRequest,
  StringMatch as IstioStringMatch,
} from '../../api/resources/index.js';
import type {
  HeaderMatch,
  QueryMatch,
  RequestMatch,
  StringMatch,
} from '../../api/waypoint/config.js';
import { compact } from './compact.js';

export interface MatchContext {
  /** The service port the routes are built for. */
  readonly port: number;
  /** Whether the service has more HTTP ports, so each match must name its own. */
  readonly pinPort: boolean;
  readonly sources: (
    labels: Readonly<Record<string, string>> | undefined,
    namespace: string | undefined,
  ) => string[];
  /**
   * The names a match's `gateways` must include for it to apply: `mesh` (the default) for a
   * waypoint; an ingress gateway's `namespace/name` (controlplane/gateway).
   */
  readonly gateways?: readonly string[];
  /** The scheme requests arrive with: `http` unless a gateway terminates TLS. */
  readonly scheme?: 'http' | 'https';
}

/** The match type set, if any: `{}` constrains nothing (Envoy's present match). */
export function stringMatch(match: IstioStringMatch | undefined): StringMatch | undefined {
  if (match?.exact !== undefined) return { exact: match.exact };
  if (match?.prefix !== undefined) return { prefix: match.prefix };
  if (match?.regex !== undefined) return { regex: match.regex };
  return undefined;
}

function matchesValue(match: StringMatch, value: string): boolean {
  if ('exact' in match) return value === match.exact;
  if ('prefix' in match) return value.startsWith(match.prefix);
  return compileRe2(`^(?:${match.regex})$`).test(value);
}

/** `regex: "*"` is Istio's spelling of "the header is present" (canBeConvertedToPresentMatch). */
function headerMatches(
  map: Readonly<Record<string, IstioStringMatch>> | undefined,
): HeaderMatch[] | undefined {
  const out = Object.entries(map ?? {})
    .map(([name, m]) =>
      compact({ name: name.toLowerCase(), match: m.regex === '*' ? undefined : stringMatch(m) }),
    )
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out.length > 0 ? out : undefined;
}

function queryMatches(
  map: Readonly<Record<string, IstioStringMatch>> | undefined,
): QueryMatch[] | undefined {
  const out = Object.entries(map ?? {})
    .map(([name, m]) => compact({ name, match: stringMatch(m) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out.length > 0 ? out : undefined;
}

/** The match as the waypoint evaluates it, or undefined when it can never match there. */
export function translateMatch(
  match: HTTPMatchRequest,
  ctx: MatchContext,
): RequestMatch | undefined {
  if (match.port !== undefined && match.port !== ctx.port) return undefined;
  const gateways = match.gateways ?? [];
  const bound = ctx.gateways ?? ['mesh'];
  if (gateways.length > 0 && !gateways.some((g) => bound.includes(g))) return undefined;
  const scheme = stringMatch(match.scheme);
  if (scheme !== undefined && !matchesValue(scheme, ctx.scheme ?? 'http')) return undefined;
  const bySource = match.sourceLabels !== undefined || match.sourceNamespace !== undefined;
  return compact({
    uri: stringMatch(match.uri),
    ignoreUriCase: match.ignoreUriCase === true ? true : undefined,
    method: stringMatch(match.method),
    authority: stringMatch(match.authority),
    headers: headerMatches(match.headers),
    withoutHeaders: headerMatches(match.withoutHeaders),
    queryParams: queryMatches(match.queryParams),
    port: ctx.pinPort ? ctx.port : undefined,
    sourceAddresses: bySource ? ctx.sources(match.sourceLabels, match.sourceNamespace) : undefined,
  });
}

/**
 * Istio's IsCatchAllRoute: every path (prefix `/`, regex `.*` or none) with no other
 * condition. Routes after one can never match, and Istio drops them.
 */
export function isCatchAll(match: RequestMatch): boolean {
  const uri = match.uri;
  const everyPath =
    uri === undefined ||
    ('prefix' in uri && uri.prefix === '/') ||
    ('regex' in uri && uri.regex === '.*');
  return (
    everyPath &&
    match.method === undefined &&
    match.authority === undefined &&
    match.headers === undefined &&
    match.withoutHeaders === undefined &&
    match.queryParams === undefined &&
    match.sourceAddresses === undefined
  );
}
