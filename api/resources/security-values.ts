/**
 * The value rules AuthorizationPolicy applies to its string lists, after Istio's
 * pkg/config/security: IP blocks, ports, service accounts, trust domains and path templates.
 * Each function returns why one value is wrong, or undefined when it is fine.
 */
import { isCIDR, isIPAddress } from '../schema/index.js';

/** `10.1.2.3`, `2001:db8::1`, `10.0.0.0/16` or `2001:db8::/32`. */
export function ipBlockProblem(value: string): string | undefined {
  if (value.includes('/')) {
    return isCIDR(value) ? undefined : `bad CIDR range ${JSON.stringify(value)}`;
  }
  return isIPAddress(value) ? undefined : `bad IP address ${JSON.stringify(value)}`;
}

/** Ports are written as decimal strings; port 0 selects nothing, so it is refused too. */
export function portStringProblem(value: string): string | undefined {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
    return `bad port ${JSON.stringify(value)}: must be a number between 1 and 65535`;
  }
  return undefined;
}

/** Istio caps service account lists (CheckServiceAccount) to bound the config size. */
export const MAX_SERVICE_ACCOUNTS = 16;

/** `name` or `namespace/name`, no wildcards, at most 320 characters. */
export function serviceAccountProblem(value: string): string | undefined {
  if (value === '') return 'must not be empty';
  if (value.includes('*')) return 'wildcards are not allowed in service accounts';
  if (value.length > 320) return 'must be at most 320 characters';
  const parts = value.split('/');
  if (parts.length > 2 || parts.some((p) => p === '')) {
    return `expected "serviceAccount" or "namespace/serviceAccount", found ${JSON.stringify(value)}`;
  }
  return undefined;
}

/** One wildcard at most, and only at the start or the end (`*`, `foo*`, `*foo`). */
export function wildcardValueProblem(value: string): string | undefined {
  if (value === '') return 'must not be empty';
  const stars = value.split('*').length - 1;
  if (stars > 1) return `at most one wildcard is allowed, found ${JSON.stringify(value)}`;
  if (stars === 1 && !value.startsWith('*') && !value.endsWith('*')) {
    return `a wildcard is allowed only at the start or the end, found ${JSON.stringify(value)}`;
  }
  return undefined;
}

export function trustDomainProblem(value: string): string | undefined {
  const problem = wildcardValueProblem(value);
  if (problem !== undefined) return problem;
  if (value.includes('/'))
    return `trust domains must not contain "/", found ${JSON.stringify(value)}`;
  return undefined;
}

const MATCH_ONE = '{*}';
const MATCH_ANY = '{**}';
// RFC 3986 pchar, which Envoy's URI template matcher requires of literal segments.
const PCHAR_LITERAL = /^[a-zA-Z0-9\-._~%!$&'()+,;:@=]+$/;

/**
 * Paths may use `{*}` (one segment) and `{**}` (any suffix, last operator only); other braces
 * are refused, and next to a template every literal segment must be plain URI characters.
 */
export function pathTemplateProblem(path: string): string | undefined {
  const templated = path.includes(MATCH_ONE) || path.includes(MATCH_ANY);
  let sawMatchAny = false;
  for (const segment of path.replace(/^\/+|\/+$/g, '').split('/')) {
    if (segment === MATCH_ONE || segment === MATCH_ANY) {
      if (sawMatchAny)
        return `invalid path ${JSON.stringify(path)}: {**} must be the last operator`;
      sawMatchAny = segment === MATCH_ANY;
      continue;
    }
    if (segment.includes('{') || segment.includes('}')) {
      return `invalid path ${JSON.stringify(path)}: "{" and "}" are allowed only in {*} and {**}`;
    }
    if (templated && !PCHAR_LITERAL.test(segment)) {
      return `invalid path ${JSON.stringify(path)}: segment ${JSON.stringify(segment)} is not a valid literal`;
    }
  }
  return undefined;
}
