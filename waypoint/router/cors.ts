import type { CorsPolicy } from '../../api/waypoint/config.js';
import { headerValue, type RoutableRequest } from './request.js';
import { stringMatches } from './string-match.js';

/**
 * What the CORS policy of the matched route does with a request (Envoy's CORS filter, as
 * Istio configures it):
 * - `none`: not a CORS request (no Origin), or an origin the policy does not allow — the
 *   request goes upstream untouched and the response gets no CORS headers; Istio's
 *   default `unmatchedPreflights: FORWARD` forwards even a preflight;
 * - `preflight`: answer 200 right away with `headers`, without going upstream;
 * - `actual`: forward the request and add `headers` to its response.
 */
export type CorsDecision =
  | { readonly kind: 'none' }
  | { readonly kind: 'preflight'; readonly headers: Record<string, string> }
  | { readonly kind: 'actual'; readonly headers: Record<string, string> };

const NONE: CorsDecision = { kind: 'none' };

/**
 * Envoy tests every allowed-origin matcher against '*' as well as the origin, so an
 * `exact: '*'` (or any matcher that takes '*') allows every origin.
 */
function originAllowed(policy: CorsPolicy, origin: string): boolean {
  return policy.allowOrigins.some((m) => stringMatches(m, '*') || stringMatches(m, origin));
}

/**
 * Istio joins the lists with ','; a list that is just '*' echoes what the preflight asked
 * for (Envoy cors_filter.cc).
 */
function allowList(list: readonly string[], requested: string | undefined): string | undefined {
  const joined = list.join(',');
  const value = joined === '*' ? requested : joined;
  return value === '' ? undefined : value;
}

export function corsDecision(policy: CorsPolicy, request: RoutableRequest): CorsDecision {
  const origin = headerValue(request, 'origin');
  if (origin === undefined || origin === '' || !originAllowed(policy, origin)) return NONE;
  // Envoy answers with the request's Origin, never '*', so credentials keep working.
  const headers: Record<string, string> = { 'access-control-allow-origin': origin };
  if (policy.allowCredentials === true) headers['access-control-allow-credentials'] = 'true';
  const requestMethod = headerValue(request, 'access-control-request-method');
  const preflight =
    request.method === 'OPTIONS' && requestMethod !== undefined && requestMethod !== '';
  if (!preflight) {
    if (policy.exposeHeaders.length > 0) {
      headers['access-control-expose-headers'] = policy.exposeHeaders.join(',');
    }
    return { kind: 'actual', headers };
  }
  const methods = allowList(policy.allowMethods, requestMethod);
  if (methods !== undefined) headers['access-control-allow-methods'] = methods;
  const allowed = allowList(
    policy.allowHeaders,
    headerValue(request, 'access-control-request-headers'),
  );
  if (allowed !== undefined) headers['access-control-allow-headers'] = allowed;
  if (policy.maxAgeSeconds !== undefined) {
    headers['access-control-max-age'] = String(Math.trunc(policy.maxAgeSeconds));
  }
  return { kind: 'preflight', headers };
}
