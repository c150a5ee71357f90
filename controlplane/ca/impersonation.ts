import { MeshError } from '../../core/errors.js';
import {
  identityOf,
  identityParts,
  parseIdentity,
  type Identity,
  type TrustDomain,
} from '../../core/identity/spiffe.js';
import type { Caller } from '../auth/authenticator.js';

/**
 * Answers where pods run; the control plane's model implements it. The CA asks it before it
 * lets a node tunnel hold a pod's identity.
 */
export interface PodLocator {
  /** Whether a pod running as `identity` (namespace + service account) is on `node`. */
  hasPodOnNode(node: string, identity: Identity): boolean;
}

export interface ImpersonationPolicy {
  trustDomain: TrustDomain;
  /** Callers that may ask for the identities of pods on their own node. */
  nodeTunnelIdentities: ReadonlySet<Identity>;
  podLocator: PodLocator;
}

/** A caller asked for an identity it may not hold. */
export class ImpersonationDeniedError extends MeshError {
  readonly code = 'AMBIT_IMPERSONATION_DENIED';
  constructor(
    readonly caller: Identity,
    readonly requested: Identity,
    readonly reason: string,
  ) {
    super(`${caller} may not obtain a certificate for ${requested}: ${reason}`);
  }
}

/** The node tunnel's identity in Istio ambient: the `ztunnel` account in `istio-system`. */
export function defaultNodeTunnelIdentities(trustDomain: TrustDomain): Set<Identity> {
  return new Set([
    identityOf({ trustDomain, namespace: 'istio-system', serviceAccount: 'ztunnel' }),
  ]);
}

/**
 * The identity a certificate request may be issued for: the caller's own, or, when the
 * request carries `ImpersonatedIdentity`, that identity if the caller is a node tunnel and a
 * pod with that identity runs on the caller's node (Istio's rule for ztunnel). Throws
 * InvalidIdentityError for a malformed ImpersonatedIdentity, ImpersonationDeniedError when
 * the caller may not hold it.
 */
export function identityToIssue(
  caller: Caller,
  impersonated: string | undefined,
  policy: ImpersonationPolicy,
): Identity {
  if (impersonated === undefined || impersonated === '') return caller.identity;
  const requested = parseIdentity(impersonated);
  if (requested === caller.identity) return requested;
  const denied = (reason: string): ImpersonationDeniedError =>
    new ImpersonationDeniedError(caller.identity, requested, reason);
  if (!policy.nodeTunnelIdentities.has(caller.identity)) {
    throw denied('only a node tunnel may ask for another identity');
  }
  const node = caller.node;
  if (node === undefined) throw denied("the caller's credentials are not bound to a node");
  if (identityParts(requested).trustDomain !== policy.trustDomain) {
    throw denied(`it is outside the trust domain ${policy.trustDomain}`);
  }
  if (!policy.podLocator.hasPodOnNode(node, requested)) {
    throw denied(`no pod with that identity runs on node ${node}`);
  }
  return requested;
}
