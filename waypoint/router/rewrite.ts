import type { Redirect, RequestMatch, Rewrite } from '../../api/waypoint/config.js';
import { globalMatcher } from './regex.js';
import { pathWithoutQuery, queryOf, type RoutableRequest } from './request.js';

/**
 * How many characters of `path` (without query) the route matched, as Envoy counts them for
 * `prefix_rewrite`: the prefix of a prefix match (whatever its case under `ignoreUriCase`),
 * the whole path for an exact or regex match, and the leading '/' for a match without
 * `uri`, which Istio gives Envoy as `prefix: /` (route.go TranslateRouteMatch).
 */
function matchedLength(match: RequestMatch | undefined, path: string): number {
  const uri = match?.uri;
  if (uri === undefined) return path.startsWith('/') ? 1 : 0;
  if ('prefix' in uri) return uri.prefix.length;
  return path.length;
}

/** Envoy `prefix_rewrite`: the matched part of the path replaced, the rest and the query kept. */
function replaceMatched(
  path: string,
  replacement: string,
  match: RequestMatch | undefined,
): string {
  return replacement + path.slice(matchedLength(match, pathWithoutQuery(path)));
}

type UriRegex = NonNullable<Rewrite['uriRegex']>;

/** A parsed RE2 rewrite string: literal text and capture group numbers (`\1` → 1). */
type Substitution = readonly (string | number)[];

interface RegexRewrite {
  readonly regex: RegExp;
  readonly substitution: Substitution;
  readonly groups: number;
}

const regexRewrites = new WeakMap<object, RegexRewrite | null>();

/** RE2::Rewrite syntax, which Envoy's `regex_rewrite` uses: `\0`–`\9` and `\\`. */
function parseSubstitution(text: string): Substitution {
  const pieces: (string | number)[] = [];
  let literal = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '\\' && next !== undefined && next >= '0' && next <= '9') {
      if (literal !== '') pieces.push(literal);
      literal = '';
      pieces.push(Number(next));
      i++;
    } else if (c === '\\' && next === '\\') {
      literal += '\\';
      i++;
    } else {
      literal += c;
    }
  }
  if (literal !== '') pieces.push(literal);
  return pieces;
}

/** How many capture groups `regex` has: an empty alternative makes exec() list them all. */
function groupCount(regex: RegExp): number {
  return (new RegExp(`${regex.source}|`, regex.flags.replace('g', '')).exec('')?.length ?? 1) - 1;
}

function regexRewrite(spec: UriRegex): RegexRewrite | undefined {
  let compiled = regexRewrites.get(spec);
  if (compiled === undefined) {
    const regex = globalMatcher(spec, spec.match);
    compiled =
      regex === undefined
        ? null
        : { regex, substitution: parseSubstitution(spec.rewrite), groups: groupCount(regex) };
    regexRewrites.set(spec, compiled);
  }
  return compiled ?? undefined;
}

/**
 * Every match of the pattern in `path` replaced (RE2::GlobalReplace); a group the pattern
 * does not have expands to ''. An uncompilable pattern leaves the path as it was.
 */
function replaceAll(path: string, spec: UriRegex): string {
  const compiled = regexRewrite(spec);
  if (compiled === undefined) return path;
  const { regex, substitution, groups } = compiled;
  return path.replace(regex, (...args: unknown[]) => {
    let out = '';
    for (const piece of substitution) {
      if (typeof piece === 'string') out += piece;
      else if (piece <= groups) out += (args[piece] as string | undefined) ?? '';
    }
    return out;
  });
}

/**
 * The path (with its query, which every rewrite keeps) after a route's rewrite:
 * - `uriRegex`: every match in the path replaced (Envoy `regex_rewrite`);
 * - `uri`: the whole path replaced (Gateway API `ReplaceFullPath`);
 * - `prefix`: what `match` matched replaced (Envoy `prefix_rewrite`, from Istio
 *   `rewrite.uri` and Gateway API `ReplacePrefixMatch`) — so on a route whose match has
 *   no `uri`, only the leading '/' is replaced: `/v2` turns `/reviews/1` into
 *   `/v2reviews/1`, exactly as Istio does.
 * `match` is the match block that took the request (`matchRoute(...).match`).
 */
export function rewritePath(rewrite: Rewrite, path: string, match?: RequestMatch): string {
  if (rewrite.uriRegex !== undefined) {
    return replaceAll(pathWithoutQuery(path), rewrite.uriRegex) + queryOf(path);
  }
  if (rewrite.uri !== undefined) return rewrite.uri + queryOf(path);
  // An empty prefix_rewrite is no rewrite in Envoy (proto3 has no unset string).
  if (rewrite.prefix) return replaceMatched(path, rewrite.prefix, match);
  return path;
}

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443 };

/** Splits `host:port` / `[v6]:port`; the port is undefined when the authority has none. */
function splitAuthority(authority: string): { host: string; port: string | undefined } {
  const colon = authority.lastIndexOf(':');
  if (colon < 0 || authority.lastIndexOf(']') > colon) return { host: authority, port: undefined };
  return { host: authority.slice(0, colon), port: authority.slice(colon + 1) };
}

/**
 * The host (and port) of the Location when the redirect names no port: the redirect's
 * authority as written, else the request's, whose port Envoy drops only when the scheme
 * changes away from the one that port is the default of (Envoy `processRequestHost`).
 */
function authorityWithoutPortRedirect(
  redirect: Redirect,
  request: RoutableRequest,
  fromScheme: string,
  toScheme: string,
): string {
  if (redirect.authority !== undefined) return redirect.authority;
  const { host, port } = splitAuthority(request.authority);
  if (port !== undefined && toScheme !== fromScheme && Number(port) === DEFAULT_PORTS[fromScheme]) {
    return host;
  }
  return request.authority;
}

function redirectPath(redirect: Redirect, request: RoutableRequest, match?: RequestMatch): string {
  if (redirect.uri !== undefined) {
    // Envoy `path_redirect`: a query in the new path replaces the request's, otherwise the
    // request's query is kept (Istio never sets `strip_query`).
    return redirect.uri.includes('?') ? redirect.uri : redirect.uri + queryOf(request.path);
  }
  if (redirect.prefixRewrite) return replaceMatched(request.path, redirect.prefixRewrite, match);
  return request.path;
}

/**
 * The absolute `Location` of a redirect route, built as Istio configures Envoy:
 * - scheme: the redirect's, else the request's (`scheme`);
 * - host: the redirect's authority, else the request's;
 * - port: `port`, or the request's service port for `derivePort: 'request'` (Istio cannot
 *   derive it at run time and uses the listener port, which is the service port here), or
 *   none for `derivePort: 'protocol'` (80/443: Istio's documented meaning and Gateway API's
 *   rule; Envoy, given no port, would keep a non-default port from the Host header). A
 *   port that is the new scheme's default is left out (Istio ApplyRedirect). With none of
 *   these the port rides along in the authority, per Envoy `processRequestHost`;
 * - path: `uri` replaces the whole path, `prefixRewrite` what `match` matched (as
 *   `Rewrite.prefix` does), else the request's; the query is kept unless `uri` carries one.
 */
export function redirectLocation(
  redirect: Redirect,
  request: RoutableRequest,
  scheme: 'http' | 'https',
  match?: RequestMatch,
): string {
  const toScheme = redirect.scheme ?? scheme;
  let authority: string;
  if (redirect.port !== undefined || redirect.derivePort !== undefined) {
    const { host } = splitAuthority(redirect.authority ?? request.authority);
    const port = redirect.port ?? (redirect.derivePort === 'request' ? request.port : undefined);
    authority = port === undefined || port === DEFAULT_PORTS[toScheme] ? host : `${host}:${port}`;
  } else {
    authority = authorityWithoutPortRedirect(redirect, request, scheme, toScheme);
  }
  const path = redirectPath(redirect, request, match);
  return `${toScheme}://${authority}${path.startsWith('/') ? '' : '/'}${path}`;
}
