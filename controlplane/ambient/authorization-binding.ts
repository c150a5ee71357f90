/**
 * Which WORKLOAD_SELECTOR policies a workload lists in `Workload.authorization_policies`.
 * GLOBAL and NAMESPACE policies are never listed: the node tunnel applies them by scope.
 *
 * As Istio computes it (pilot/pkg/serviceregistry/ambient/workloads.go, buildWorkloadPolicies):
 * first the converted AuthorizationPolicies with a selector, in the workload's namespace or
 * the root namespace, whose labels the workload carries, sorted by `ns/name`; then the
 * PeerAuthentication-derived names (the static STRICT policy and/or the workload's converted
 * PeerAuthentication).
 */
import type { Authorization } from '../../api/gen/istio/security/authorization_pb.js';
import type {
  AuthorizationPolicyResource,
  PeerAuthenticationResource,
} from '../../api/resources/index.js';
import { nodeTunnelSkipReason, type AmbientPolicyOptions } from './authorization.js';
import { peerAuthenticationPolicyNames, type PolicyWorkload } from './peer-authentication.js';
import { selectorMatches } from './selector.js';

/** The name a policy is known by on the wire and in `authorization_policies`: `<namespace>/<name>`. */
export function authorizationResourceName(authorization: Authorization): string {
  return `${authorization.namespace}/${authorization.name}`;
}

export function policiesForWorkload(
  workload: PolicyWorkload,
  authorizationPolicies: readonly AuthorizationPolicyResource[],
  peerAuthentications: readonly PeerAuthenticationResource[],
  options: AmbientPolicyOptions,
): string[] {
  const selected = authorizationPolicies
    .filter((policy) => {
      const { selector } = policy.spec;
      const namespace = policy.metadata.namespace;
      return (
        selector !== undefined &&
        (namespace === workload.namespace || namespace === options.rootNamespace) &&
        // A selector without labels selects every workload it can reach (Kubernetes' rule).
        selectorMatches(selector, workload.labels) &&
        // Only policies the node tunnel receives: not waypoint-bound, not AUDIT/CUSTOM, not dry-run.
        nodeTunnelSkipReason(policy) === undefined
      );
    })
    .map((policy) => `${policy.metadata.namespace}/${policy.metadata.name}`)
    .sort();
  return [...selected, ...peerAuthenticationPolicyNames(workload, peerAuthentications, options)];
}
