/**
 * RequestAuthentication at the waypoint, as Istio configures Envoy's jwt_authn filter
 * (`requires_any` of each issuer's provider or `allow_missing`): a request without a token
 * passes unauthenticated; a request with a token is authenticated by the rule of its issuer
 * or refused (401) — an unknown issuer, a bad signature, an expired token alike.
 *
 * Tokens are read where the rules say (`fromHeaders` with their prefix, `fromParams`), by
 * default from `Authorization: Bearer …` and the `access_token` query parameter. A verified
 * token's header is removed before the request goes upstream unless `forwardOriginalToken`,
 * and `outputPayloadToHeader` / `outputClaimToHeaders` add headers.
 */
import type { JwtRule } from '../../api/waypoint/config.js';
import type { VerificationKey } from './jwks.js';
import { decodeJwt, JWT_FAILURE, verifyJwt, type JwtIdentity } from './verify.js';

type Headers = Record<string, string | string[] | undefined>;

export type Authentication =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'verified'; readonly identity: JwtIdentity }
  | { readonly kind: 'failed'; readonly message: string };

const ANONYMOUS: Authentication = { kind: 'anonymous' };
const DEFAULT_HEADER = { name: 'authorization', prefix: 'Bearer ' };
const DEFAULT_PARAM = 'access_token';

interface FoundToken {
  readonly token: string;
  /** Lower-case header name it came from, or undefined for a query parameter. */
  readonly header: string | undefined;
  /** The rules that read this location. */
  readonly rules: JwtRule[];
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function queryValue(query: string, name: string): string | undefined {
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq) === name) {
      try {
        return decodeURIComponent(pair.slice(eq + 1));
      } catch {
        return pair.slice(eq + 1);
      }
    }
  }
  return undefined;
}

function findTokens(rules: readonly JwtRule[], headers: Headers, query: string): FoundToken[] {
  const found = new Map<string, FoundToken>();
  const add = (key: string, token: string, header: string | undefined, rule: JwtRule) => {
    const entry = found.get(key);
    if (entry === undefined) found.set(key, { token, header, rules: [rule] });
    else entry.rules.push(rule);
  };
  for (const rule of rules) {
    const useDefaults = rule.fromHeaders === undefined && rule.fromParams === undefined;
    const fromHeaders = useDefaults ? [DEFAULT_HEADER] : (rule.fromHeaders ?? []);
    const fromParams = useDefaults ? [DEFAULT_PARAM] : (rule.fromParams ?? []);
    for (const { name, prefix = '' } of fromHeaders) {
      const header = name.toLowerCase();
      const value = firstValue(headers[header]);
      if (value === undefined) continue;
      const matches = useDefaults
        ? value.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase()
        : value.startsWith(prefix);
      if (!matches) continue;
      const token = value.slice(prefix.length).trim();
      if (token !== '') add(`h:${header}`, token, header, rule);
    }
    for (const param of fromParams) {
      const token = queryValue(query, param);
      if (token !== undefined && token !== '') add(`q:${param}`, token, undefined, rule);
    }
  }
  return [...found.values()];
}

function claimText(claims: Readonly<Record<string, unknown>>, name: string): string | undefined {
  let value: unknown = claims[name];
  if (value === undefined && name.includes('.')) {
    value = claims;
    for (const part of name.split('.')) {
      value =
        value !== null && typeof value === 'object'
          ? (value as Record<string, unknown>)[part]
          : undefined;
    }
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/**
 * Authenticates the request and, when a token verifies, edits `headers` (the request as it
 * will go upstream) as the rule says. `query` is the query string without its `?`.
 */
export async function authenticate(
  rules: readonly JwtRule[],
  headers: Headers,
  query: string,
  keysFor: (rule: JwtRule) => Promise<readonly VerificationKey[] | undefined>,
  nowSeconds: number,
): Promise<Authentication> {
  const tokens = findTokens(rules, headers, query);
  if (tokens.length === 0) return ANONYMOUS;
  let identity: JwtIdentity | undefined;
  for (const found of tokens) {
    const decoded = decodeJwt(found.token);
    if (typeof decoded === 'string') return { kind: 'failed', message: decoded };
    const rule = found.rules.find((r) => r.issuer === decoded.payload.iss);
    if (rule === undefined) return { kind: 'failed', message: JWT_FAILURE.unknownIssuer };
    const keys = await keysFor(rule);
    if (keys === undefined) return { kind: 'failed', message: JWT_FAILURE.jwksFetchFails };
    const verified = verifyJwt(decoded, keys, rule.audiences, nowSeconds);
    if (typeof verified === 'string') return { kind: 'failed', message: verified };
    identity ??= verified;
    if (!rule.forwardOriginalToken && found.header !== undefined) delete headers[found.header];
    if (rule.outputPayloadToHeader !== undefined)
      headers[rule.outputPayloadToHeader.toLowerCase()] = decoded.payloadSegment;
    for (const { header, claim } of rule.outputClaimToHeaders ?? []) {
      const text = claimText(verified.claims, claim);
      if (text !== undefined) headers[header.toLowerCase()] = text;
    }
  }
  return identity === undefined ? ANONYMOUS : { kind: 'verified', identity };
}
