import { canonicalIpBytes } from '../../core/net/ip.js';
import { identityParts, parseIdentity } from '../../core/identity/spiffe.js';
import type { PeerAttributes, RequestAttributes } from '../../waypoint/authz/attributes.js';
import { authorize, ruleMatches } from '../../waypoint/authz/evaluate.js';
import { normalizePath } from '../../waypoint/authz/normalize-path.js';
import type { AuthorizationDecision } from './explanation.js';
import type { WaypointAuthorizer } from './waypoint-steps.js';

/**
 * L7 AuthorizationPolicy as the waypoint enforces it (waypoint/proxy/admission.ts): the same
 * path normalization (the default mode) and the waypoint's own pure evaluator, on the
 * policies bound to the service. The peer is the source workload's identity, which the
 * waypoint sees through the tunnel. A request is explained without a JWT: a rule on request
 * principals sees none.
 */
export const waypointAuthorizer: WaypointAuthorizer = ({ service, request, sourceIdentity }) => {
  const policies = service.policies ?? [];
  const normalized = normalizePath(request.path);
  const attributes: RequestAttributes = {
    peer: peerOf(sourceIdentity, request.sourceAddress),
    method: request.method.toUpperCase(),
    path: normalized.ok ? normalized.path : request.path,
    authority: request.authority,
    headers: request.headers,
    destinationIp: undefined,
    destinationPort: request.port,
    jwt: undefined,
  };
  const decision = authorize(policies, attributes);
  const evaluations = policies.map((policy) => ({
    policy: policy.name,
    action: policy.action,
    matched: policy.rules.some((rule) => ruleMatches(rule, attributes)),
  }));
  const base: Omit<AuthorizationDecision, 'allowed' | 'reason'> = {
    at: 'waypoint',
    policies: evaluations,
    peer: {
      ...(sourceIdentity === undefined ? {} : { identity: sourceIdentity }),
      address: request.sourceAddress,
    },
  };
  if (decision.allowed)
    return {
      ...base,
      allowed: true,
      reason:
        policies.length === 0
          ? 'no AuthorizationPolicy is bound to the service'
          : 'no policy denies it, and an ALLOW policy matches or none applies',
    };
  return {
    ...base,
    allowed: false,
    ...(decision.policy === undefined ? {} : { policy: decision.policy }),
    reason:
      decision.policy === undefined
        ? 'ALLOW policies apply and none matches'
        : `${decision.policy} denies it`,
  };
};

function peerOf(identity: string | undefined, address: string): PeerAttributes {
  let parts: ReturnType<typeof identityParts> | undefined;
  try {
    if (identity !== undefined) parts = identityParts(parseIdentity(identity));
  } catch {
    parts = undefined;
  }
  return {
    principal: parts && `${parts.trustDomain}/ns/${parts.namespace}/sa/${parts.serviceAccount}`,
    namespace: parts?.namespace,
    trustDomain: parts?.trustDomain,
    sourceIp: canonicalIpBytes(address),
  };
}
