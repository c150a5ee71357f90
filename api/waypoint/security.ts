/**
 * The security part of a WaypointService: the AuthorizationPolicies and RequestAuthentication
 * JWT rules that apply at its waypoint, resolved by the control plane as far as it can
 * (binding, service accounts to principal patterns, the policy namespace filled in).
 *
 * Values keep Istio's pattern forms: `*` any non-empty value, `x*` prefix, `*x` suffix, else
 * exact. Within one field any value may match; every field given must match.
 */

/** Evaluated in this order: CUSTOM, DENY, ALLOW; AUDIT only marks the request. */
export type PolicyAction = 'CUSTOM' | 'DENY' | 'ALLOW' | 'AUDIT';

/** `from[].source`: the peer and the request's JWT identity. */
export interface PolicySource {
  /** Peer principals without `spiffe://`: `cluster.local/ns/x/sa/y`. */
  readonly principals?: readonly string[];
  readonly notPrincipals?: readonly string[];
  /** `iss/sub` of the request's verified JWT. */
  readonly requestPrincipals?: readonly string[];
  readonly notRequestPrincipals?: readonly string[];
  readonly namespaces?: readonly string[];
  readonly notNamespaces?: readonly string[];
  /** IPs or CIDR blocks of the source workload. */
  readonly ipBlocks?: readonly string[];
  readonly notIpBlocks?: readonly string[];
  /** IPs or CIDR blocks of the original client (the peer: no forwarding hops are trusted). */
  readonly remoteIpBlocks?: readonly string[];
  readonly notRemoteIpBlocks?: readonly string[];
}

/** `to[].operation`: the request. */
export interface PolicyOperation {
  /** Matched against the authority, case-insensitively; a host without a port matches any port. */
  readonly hosts?: readonly string[];
  readonly notHosts?: readonly string[];
  /** The service port the request arrived on. */
  readonly ports?: readonly number[];
  readonly notPorts?: readonly number[];
  readonly methods?: readonly string[];
  readonly notMethods?: readonly string[];
  /** Istio forms plus `{*}` (one segment) and `{**}` templates, on the normalized path. */
  readonly paths?: readonly string[];
  readonly notPaths?: readonly string[];
}

/** A `when` condition on one of Istio's attributes (`request.headers[x-user]`, `source.ip`, …). */
export interface PolicyCondition {
  readonly key: string;
  readonly values?: readonly string[];
  readonly notValues?: readonly string[];
}

/** from, to and when must all match; an absent list matches anything. */
export interface PolicyRule {
  readonly from?: readonly PolicySource[];
  readonly to?: readonly PolicyOperation[];
  readonly when?: readonly PolicyCondition[];
}

export interface WaypointPolicy {
  /** `namespace/name` of the AuthorizationPolicy. */
  readonly name: string;
  readonly action: PolicyAction;
  /** Any rule may match; none means the policy matches nothing (`[{}]` matches everything). */
  readonly rules: readonly PolicyRule[];
}

/** One RequestAuthentication `jwtRules` entry. */
export interface JwtRule {
  /** `namespace/name` of the RequestAuthentication. */
  readonly policy: string;
  readonly issuer: string;
  /** Absent or empty: any audience. */
  readonly audiences?: readonly string[];
  /** Inline JSON Web Key Set; wins over `jwksUri`. */
  readonly jwks?: string;
  readonly jwksUri?: string;
  /** Absent (with `fromParams` absent too): `Authorization: Bearer …` and `?access_token=`. */
  readonly fromHeaders?: readonly { readonly name: string; readonly prefix?: string }[];
  readonly fromParams?: readonly string[];
  readonly outputPayloadToHeader?: string;
  /** False (default): the token's header is removed before the request goes upstream. */
  readonly forwardOriginalToken: boolean;
  readonly outputClaimToHeaders?: readonly { readonly header: string; readonly claim: string }[];
}
