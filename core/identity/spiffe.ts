import { MeshError } from '../errors.js';

/** A workload identity: `spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>`. */
export type Identity = string & { readonly brand: 'Identity' };

/** The trust domain an identity belongs to, e.g. `cluster.local`. */
export type TrustDomain = string & { readonly brand: 'TrustDomain' };

export const DEFAULT_TRUST_DOMAIN = 'cluster.local' as TrustDomain;

export interface IdentityParts {
  trustDomain: TrustDomain;
  namespace: string;
  serviceAccount: string;
}

export class InvalidIdentityError extends MeshError {
  readonly code = 'AMBIT_INVALID_IDENTITY';
  constructor(
    readonly value: string,
    readonly reason: string,
  ) {
    super(`invalid SPIFFE identity ${JSON.stringify(value)}: ${reason}`);
  }
}

const SCHEME = 'spiffe://';
// SPIFFE ID spec §2.1: a trust domain is lowercase letters, digits, dots, dashes, underscores.
const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
// SPIFFE ID spec §2.2: path segments use letters, digits, dots, dashes and underscores.
const SEGMENT_CHARS = /^[A-Za-z0-9._-]+$/;
// Trust domains are DNS-like names; the spec caps a SPIFFE ID at 2048 bytes in URI SANs.
const MAX_TRUST_DOMAIN = 255;
const MAX_IDENTITY = 2048;

function trustDomainProblem(td: string): string | undefined {
  if (td.length === 0) return 'the trust domain is empty';
  if (td.length > MAX_TRUST_DOMAIN) return `the trust domain is longer than ${MAX_TRUST_DOMAIN}`;
  if (!TRUST_DOMAIN_CHARS.test(td)) {
    return `the trust domain ${JSON.stringify(td)} may only hold lowercase letters, digits, '.', '-' and '_'`;
  }
  return undefined;
}

function segmentProblem(what: string, segment: string): string | undefined {
  if (segment.length === 0) return `the ${what} is empty`;
  if (segment === '.' || segment === '..') return `the ${what} may not be '.' or '..'`;
  if (!SEGMENT_CHARS.test(segment)) {
    return `the ${what} ${JSON.stringify(segment)} may only hold letters, digits, '.', '-' and '_'`;
  }
  return undefined;
}

export function parseTrustDomain(s: string): TrustDomain {
  const problem = trustDomainProblem(s);
  if (problem !== undefined) throw new InvalidIdentityError(s, problem);
  return s as TrustDomain;
}

/** Parses an Istio workload identity; anything else (other paths, query, port) is refused. */
export function parseIdentity(s: string): Identity {
  const fail = (reason: string): never => {
    throw new InvalidIdentityError(s, reason);
  };
  if (s.length > MAX_IDENTITY) fail(`longer than ${MAX_IDENTITY} characters`);
  if (!s.startsWith(SCHEME)) fail(`does not start with ${SCHEME}`);
  const rest = s.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  if (slash < 0) fail('has no path; want /ns/<namespace>/sa/<service-account>');
  const tdProblem = trustDomainProblem(rest.slice(0, slash));
  if (tdProblem !== undefined) fail(tdProblem);
  const segments = rest.slice(slash + 1).split('/');
  if (segments.length !== 4 || segments[0] !== 'ns' || segments[2] !== 'sa') {
    fail('the path is not /ns/<namespace>/sa/<service-account>');
  }
  const problem =
    segmentProblem('namespace', segments[1] ?? '') ??
    segmentProblem('service account', segments[3] ?? '');
  if (problem !== undefined) fail(problem);
  return s as Identity;
}

/** Builds the identity of a service account; throws InvalidIdentityError on a bad part. */
export function identityOf(parts: {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}): Identity {
  return parseIdentity(
    `${SCHEME}${parts.trustDomain}/ns/${parts.namespace}/sa/${parts.serviceAccount}`,
  );
}

/** Splits an identity that parseIdentity accepted; never fails for a real Identity. */
export function identityParts(id: Identity): IdentityParts {
  const rest = id.slice(SCHEME.length);
  const slash = rest.indexOf('/');
  const segments = rest.slice(slash + 1).split('/');
  return {
    trustDomain: rest.slice(0, slash) as TrustDomain,
    namespace: segments[1] ?? '',
    serviceAccount: segments[3] ?? '',
  };
}
