/**
 * The destination's node tunnel: every policy it applies to the connection (ztunnel's own
 * `policiesFor` and `authorize` on the state it holds), and the PeerAuthentication mode in
 * force. The peer is the source (direct or plaintext) or the waypoint (through one).
 */
import {
  CONVERTED_PEER_AUTHENTICATION_PREFIX,
  STATIC_STRICT_POLICY_NAME,
} from '../../controlplane/ambient/peer-authentication.js';
import { authorize } from '../../ztunnel/authz/authorize.js';
import { connectionFacts, policyMatches } from '../../ztunnel/authz/match.js';
import type { Authorization } from '../../ztunnel/authz/policy.js';
import type { Identity } from '../../core/identity/spiffe.js';
import type { Hop } from './destination.js';
import type { AuthorizationDecision, PolicyEvaluation, Step } from './explanation.js';
import type { MeshView } from './mesh-view.js';

export interface Peer {
  /** Absent for a plaintext peer. */
  readonly identity?: Identity;
  readonly address: string;
}

function isPeerAuthentication(policy: Authorization): boolean {
  return (
    policy.name === STATIC_STRICT_POLICY_NAME ||
    policy.name.startsWith(CONVERTED_PEER_AUTHENTICATION_PREFIX)
  );
}

function evaluation(policy: Authorization, matched: boolean): PolicyEvaluation {
  return {
    policy: policy.key,
    action: policy.action,
    matched,
    ...(policy.dryRun && { dryRun: true }),
    ...(isPeerAuthentication(policy) && {
      note: 'PeerAuthentication STRICT: denies peers without an identity',
    }),
  };
}

export function nodeTunnelDecision(view: MeshView, hop: Hop, peer: Peer): AuthorizationDecision {
  const at = `${hop.workload.namespace}/${hop.workload.name}`;
  if (hop.workload.protocol !== 'HBONE') {
    return {
      at,
      allowed: true,
      reason: 'not in the ambient mesh: no node tunnel enforces any policy for it',
      policies: [],
      peer,
    };
  }
  const policies = view.proxy.policiesFor(hop.workload);
  const connection = {
    ...(peer.identity !== undefined && { sourceIdentity: peer.identity }),
    sourceIp: peer.address,
    destinationIp: hop.address,
    destinationPort: hop.port,
  };
  const facts = connectionFacts(connection);
  const decision = authorize(connection, policies);
  return {
    at,
    allowed: decision.allowed,
    reason: decision.reason,
    ...(decision.policy !== undefined && { policy: decision.policy }),
    policies: policies.map((p) => evaluation(p, policyMatches(p, facts))),
    mtls: policies.some(isPeerAuthentication) ? 'STRICT' : 'PERMISSIVE',
    peer,
  };
}

export function nodeTunnelStep(
  decisions: readonly AuthorizationDecision[],
): Extract<Step, { kind: 'node-tunnel-authorization' }> {
  const denied = decisions.filter((d) => !d.allowed);
  const summary =
    decisions.length === 0
      ? 'no endpoint to decide'
      : denied.length === 0
        ? `allowed by the node tunnel of ${decisions.length === 1 ? decisions[0]!.at : `each of ${decisions.length} endpoints`}`
        : denied.length === decisions.length
          ? `denied by the node tunnel of ${denied.map((d) => d.at).join(', ')}: ${describeDecision(denied[0]!)}`
          : `denied at ${denied.map((d) => d.at).join(', ')}, allowed at the others`;
  return { kind: 'node-tunnel-authorization', summary, decisions };
}

export function describeDecision(d: AuthorizationDecision): string {
  return d.policy === undefined ? d.reason : `${d.reason} (${d.policy})`;
}
