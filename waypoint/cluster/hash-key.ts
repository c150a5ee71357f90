import type { LoadBalancer } from '../../api/waypoint/config.js';
import { xxHash64 } from './xxhash64.js';

/**
 * The parts of a request a hash policy reads. `waypoint/router/request.ts`'s
 * `RoutableRequest` has them all; naming only these keeps the cluster free of the router.
 */
export interface HashableRequest {
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  readonly sourceAddress: string;
}

export interface HashKey {
  /** What the consistent-hash balancer hashes. */
  readonly key: string;
  /**
   * A `Set-Cookie` value the response must carry: set when a cookie policy with a TTL found
   * no cookie and made one, so the client's next request hashes the same way.
   */
  readonly setCookie?: string;
}

/**
 * The hash key of `request` under a CONSISTENT_HASH policy, as Envoy's hash policies compute
 * it; undefined for other policies, or when the request has nothing to hash (the balancer
 * then picks at random, as Envoy does).
 */
export function hashKeyFor(policy: LoadBalancer, request: HashableRequest): HashKey | undefined {
  if (policy.kind !== 'CONSISTENT_HASH') return undefined;
  const on = policy.hashOn;
  if ('header' in on) return keyOf(headerKey(request, on.header.toLowerCase()));
  if ('queryParameter' in on) return keyOf(queryParameter(request.path, on.queryParameter));
  if ('sourceIp' in on) return keyOf(request.sourceAddress || undefined);
  const { name, ttlMs, path } = on.cookie;
  const value = cookieValue(request.headers['cookie'], name);
  if (value !== undefined) return { key: value };
  if (ttlMs === undefined) return undefined;
  // Envoy names the cookie after a hash of the downstream address, so one client keeps one
  // cookie; the request carries only the source IP here, so the IP alone is hashed.
  const made = xxHash64(request.sourceAddress).toString(16).padStart(16, '0');
  return { key: made, setCookie: setCookieValue(name, made, path, ttlMs) };
}

const keyOf = (key: string | undefined): HashKey | undefined =>
  key === undefined ? undefined : { key };

// Envoy folds Host into :authority; a policy may name either, or another pseudo-header.
function headerKey(request: HashableRequest, name: string): string | undefined {
  if (name === ':authority' || name === 'host') return request.authority;
  if (name === ':path') return request.path;
  if (name === ':method') return request.method;
  const value = request.headers[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  // Envoy sorts repeated values before hashing them as one run of bytes, so order is moot.
  return value.length === 0 ? undefined : [...value].sort().join('');
}

// Envoy's `parseQueryString`: raw (not percent-decoded) values, the first one named wins.
function queryParameter(path: string, name: string): string | undefined {
  const question = path.indexOf('?');
  if (question < 0) return undefined;
  for (const pair of path.slice(question + 1).split('&')) {
    const equals = pair.indexOf('=');
    const key = equals < 0 ? pair : pair.slice(0, equals);
    if (key === name) return equals < 0 ? '' : pair.slice(equals + 1);
  }
  return undefined;
}

// Envoy's `parseCookieValue`: the first cookie of that name across Cookie headers, with
// surrounding double quotes removed; an empty value counts as no cookie.
function cookieValue(header: string | readonly string[] | undefined, name: string) {
  const headers = header === undefined ? [] : typeof header === 'string' ? [header] : header;
  for (const line of headers) {
    for (const part of line.split(';')) {
      const pair = part.trimStart();
      const equals = pair.indexOf('=');
      if (equals < 0 || pair.slice(0, equals) !== name) continue;
      let value = pair.slice(equals + 1);
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
        value = value.slice(1, -1);
      }
      return value === '' ? undefined : value;
    }
  }
  return undefined;
}

// Envoy's `makeSetCookieValue`: the TTL in whole seconds (0 makes a session cookie), HttpOnly.
function setCookieValue(name: string, value: string, path: string | undefined, ttlMs: number) {
  const maxAge = Math.floor(ttlMs / 1000);
  let cookie = `${name}="${value}"`;
  if (maxAge > 0) cookie += `; Max-Age=${maxAge}`;
  if (path) cookie += `; Path=${path}`;
  return `${cookie}; HttpOnly`;
}
