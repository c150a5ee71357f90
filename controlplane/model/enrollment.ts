import {
  AMBIENT_REDIRECTION,
  AMBIENT_REDIRECTION_ENABLED,
  DATAPLANE_MODE,
  DATAPLANE_MODE_AMBIENT,
  DATAPLANE_MODE_NONE,
  SIDECAR_STATUS,
} from './labels.js';
import type { Labels, NamespaceInfo } from './namespaces.js';

export interface EnrollmentInput {
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly hostNetwork: boolean;
}

/**
 * Whether the node tunnel captures a pod's traffic (Istio's default enablement selector):
 * the pod says `istio.io/dataplane-mode=ambient`, or its namespace does and the pod does not
 * say `none`. Pods on the host network and pods with a sidecar are never captured. A pod the
 * node agent has already marked as captured counts as enrolled, as in a cluster.
 */
export function isAmbientEnrolled(pod: EnrollmentInput, namespace: NamespaceInfo | undefined) {
  if (pod.hostNetwork || pod.annotations[SIDECAR_STATUS] !== undefined) return false;
  if (pod.annotations[AMBIENT_REDIRECTION] === AMBIENT_REDIRECTION_ENABLED) return true;
  const own = pod.labels[DATAPLANE_MODE];
  if (own === DATAPLANE_MODE_AMBIENT) return true;
  if (own === DATAPLANE_MODE_NONE) return false;
  return namespace?.labels[DATAPLANE_MODE] === DATAPLANE_MODE_AMBIENT;
}
