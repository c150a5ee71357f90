/**
 * `when` conditions: Istio's attributes (istio.io "Authorization Policy Conditions") read
 * from one request. `values` match when any value does, `notValues` when none does; an
 * attribute the request does not have matches no value. `request.auth.claims[a][b]` walks
 * nested claims (Istio's syntax); `claims[a.b]` does too when no claim is named `a.b`.
 * Keys the waypoint cannot know (`connection.sni`: the tunnel carries plain HTTP) have no
 * value.
 */
import type { PolicyCondition } from '../../api/waypoint/config.js';
import type { RequestAttributes } from './attributes.js';
import { matchesPattern, matchesIpBlock } from './patterns.js';

type Values = readonly string[] | undefined;

function claimValues(claims: Readonly<Record<string, unknown>>, path: readonly string[]): Values {
  let current: unknown = claims;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  if (typeof current === 'string') return [current];
  if (typeof current === 'number' || typeof current === 'boolean') return [String(current)];
  if (Array.isArray(current)) return current.filter((v): v is string => typeof v === 'string');
  return undefined;
}

/** `[a][b]` → ['a', 'b']; undefined when the key is not a run of brackets. */
function bracketPath(rest: string): string[] | undefined {
  const parts = rest.match(/^(\[[^\]]+\])+$/) === null ? undefined : rest.slice(1, -1).split('][');
  return parts;
}

function claimsCondition(rest: string, r: RequestAttributes): Values {
  const jwt = r.jwt;
  const path = bracketPath(rest);
  if (jwt === undefined || path === undefined) return undefined;
  const direct = claimValues(jwt.claims, path);
  if (direct !== undefined || path.length !== 1) return direct;
  return claimValues(jwt.claims, path[0]!.split('.'));
}

function headerValues(name: string, r: RequestAttributes): Values {
  const value = name === 'host' || name === ':authority' ? r.authority : r.headers[name];
  if (value === undefined) return undefined;
  // Envoy's header matchers see every value of a repeated header joined with ','.
  return [typeof value === 'string' ? value : value.join(',')];
}

/** The attribute's values for a string condition; undefined when the request lacks it. */
function stringValues(key: string, r: RequestAttributes): Values {
  const one = (v: string | undefined): Values => (v === undefined ? undefined : [v]);
  if (key.startsWith('request.headers[') && key.endsWith(']'))
    return headerValues(key.slice('request.headers['.length, -1).toLowerCase(), r);
  if (key.startsWith('request.auth.claims')) return claimsCondition(key.slice(19), r);
  switch (key) {
    case 'source.namespace':
      return one(r.peer.namespace);
    case 'source.principal':
      return one(r.peer.principal);
    case 'source.trustDomain':
      return one(r.peer.trustDomain);
    case 'request.auth.principal':
      return one(r.jwt?.principal);
    case 'request.auth.audiences':
      return r.jwt?.audiences;
    case 'request.auth.presenter':
      return one(r.jwt?.presenter);
    case 'destination.port':
      return [String(r.destinationPort)];
    default:
      return undefined;
  }
}

function ipOf(key: string, r: RequestAttributes): Uint8Array | undefined | null {
  switch (key) {
    case 'source.ip':
    case 'remote.ip':
      return r.peer.sourceIp;
    case 'destination.ip':
      return r.destinationIp;
    default:
      return null;
  }
}

function valueMatches(key: string, pattern: string, r: RequestAttributes): boolean {
  const ip = ipOf(key, r);
  if (ip !== null) return matchesIpBlock(pattern, ip);
  const values = stringValues(key, r);
  if (values === undefined) return false;
  for (const value of values) if (matchesPattern(pattern, value)) return true;
  return false;
}

/** Keys only an HTTP request has: headers and the request's JWT. */
export function isHttpCondition(condition: PolicyCondition): boolean {
  return condition.key.startsWith('request.');
}

export function conditionMatches(condition: PolicyCondition, r: RequestAttributes): boolean {
  const { key, values, notValues } = condition;
  if (values !== undefined && values.length > 0) {
    if (!values.some((v) => valueMatches(key, v, r))) return false;
  }
  if (notValues !== undefined && notValues.length > 0) {
    if (notValues.some((v) => valueMatches(key, v, r))) return false;
  }
  return true;
}
