import type {
  HeaderMatch,
  HttpRoute,
  QueryMatch,
  RequestMatch,
} from '../../api/waypoint/config.js';
import { describeMismatch, type Mismatch } from './mismatch.js';
import { headerValue, pathWithoutQuery, queryParam, type RoutableRequest } from './request.js';
import { stringMatches } from './string-match.js';

function headerMismatch(header: HeaderMatch, request: RoutableRequest): Mismatch | undefined {
  const name = header.name.toLowerCase();
  const got = headerValue(request, name);
  if (header.absent) return got === undefined ? undefined : { kind: 'header-present', name, got };
  if (got === undefined) return { kind: 'header-missing', name };
  if (header.match !== undefined && !stringMatches(header.match, got)) {
    return { kind: 'header-value', name, match: header.match, got };
  }
  return undefined;
}

/**
 * Whether a `withoutHeaders` entry fires (and so rejects the request). Istio turns each
 * into an inverted Envoy header matcher with `treat_missing_header_as_empty` unless it
 * only tests presence, so a missing header is compared as '' (route.go
 * TranslateRouteMatch).
 */
function withoutHeaderFires(header: HeaderMatch, got: string | undefined): boolean {
  if (header.absent) return got === undefined;
  if (header.match === undefined) return got !== undefined;
  return stringMatches(header.match, got ?? '');
}

function queryMismatch(query: QueryMatch, request: RoutableRequest): Mismatch | undefined {
  const got = queryParam(request.path, query.name);
  if (got === undefined) return { kind: 'query-missing', name: query.name };
  if (query.match !== undefined && !stringMatches(query.match, got)) {
    return { kind: 'query-value', name: query.name, match: query.match, got };
  }
  return undefined;
}

/** The first condition of `match` the request fails, or undefined when all hold. */
function firstMismatch(match: RequestMatch, request: RoutableRequest): Mismatch | undefined {
  if (match.port !== undefined && match.port !== request.port) {
    return { kind: 'port', want: match.port, got: request.port };
  }
  if (
    match.sourceAddresses !== undefined &&
    !match.sourceAddresses.includes(request.sourceAddress)
  ) {
    return { kind: 'source', allowed: match.sourceAddresses, got: request.sourceAddress };
  }
  if (match.uri !== undefined) {
    // Envoy matches the path without its query string.
    const path = pathWithoutQuery(request.path);
    const ignoreCase = match.ignoreUriCase === true;
    if (!stringMatches(match.uri, path, ignoreCase)) {
      return { kind: 'uri', match: match.uri, ignoreCase, path };
    }
  }
  if (match.method !== undefined && !stringMatches(match.method, request.method)) {
    return { kind: 'method', match: match.method, got: request.method };
  }
  if (match.authority !== undefined && !stringMatches(match.authority, request.authority)) {
    return { kind: 'authority', match: match.authority, got: request.authority };
  }
  for (const header of match.headers ?? []) {
    const mismatch = headerMismatch(header, request);
    if (mismatch !== undefined) return mismatch;
  }
  for (const header of match.withoutHeaders ?? []) {
    const got = headerValue(request, header.name.toLowerCase());
    if (withoutHeaderFires(header, got)) return { kind: 'without-header', header, got };
  }
  for (const query of match.queryParams ?? []) {
    const mismatch = queryMismatch(query, request);
    if (mismatch !== undefined) return mismatch;
  }
  return undefined;
}

export interface RouteMatchResult {
  readonly route: HttpRoute;
  readonly index: number;
  /** The match block that held; absent for a route without conditions. */
  readonly match?: RequestMatch;
}

/**
 * The first route that takes the request (Istio: first match wins, in order): one whose
 * `matches` is empty, or one with a match block whose every condition holds.
 */
export function matchRoute(
  routes: readonly HttpRoute[],
  request: RoutableRequest,
): RouteMatchResult | undefined {
  for (let index = 0; index < routes.length; index++) {
    const route = routes[index]!;
    if (route.matches.length === 0) return { route, index };
    for (const match of route.matches) {
      if (firstMismatch(match, request) === undefined) return { route, index, match };
    }
  }
  return undefined;
}

export interface RouteExplanation {
  readonly index: number;
  readonly origin: string;
  /** Whether this route's conditions hold, whether or not an earlier route took the request. */
  readonly matched: boolean;
  readonly reason: string;
}

function explainOne(
  route: HttpRoute,
  request: RoutableRequest,
): { matched: boolean; reason: string } {
  if (route.matches.length === 0) {
    return { matched: true, reason: 'matches every request (no match conditions)' };
  }
  const single = route.matches.length === 1;
  const failures: string[] = [];
  for (const [i, match] of route.matches.entries()) {
    const mismatch = firstMismatch(match, request);
    if (mismatch === undefined) {
      return { matched: true, reason: single ? 'every condition holds' : `match[${i}] holds` };
    }
    const why = describeMismatch(mismatch);
    failures.push(single ? why : `match[${i}]: ${why}`);
  }
  return { matched: false, reason: failures.join('; ') };
}

/**
 * For each route, in order, whether it matches the request and why — or why not, naming
 * the first failing condition of each match block. A route that matches after an earlier
 * one took the request says so. For `ambit x explain`.
 */
export function explainRoutes(
  routes: readonly HttpRoute[],
  request: RoutableRequest,
): RouteExplanation[] {
  let winner: { index: number; origin: string } | undefined;
  return routes.map((route, index) => {
    const { matched, reason } = explainOne(route, request);
    const shadowed =
      matched && winner !== undefined
        ? `, but route ${winner.index} (${winner.origin}) matched first`
        : '';
    if (matched && winner === undefined) winner = { index, origin: route.origin };
    return { index, origin: route.origin, matched, reason: reason + shadowed };
  });
}
