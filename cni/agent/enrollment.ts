import type { NamespaceInfo, PodInfo } from './pod-source.js';

/** Istio's names (istio/api labels and annotations); users write them in YAML. */
const DATAPLANE_MODE = 'istio.io/dataplane-mode';
const DATAPLANE_MODE_AMBIENT = 'ambient';
const DATAPLANE_MODE_NONE = 'none';
/** Set by the sidecar injector: a pod with a sidecar is never captured by the node tunnel. */
const SIDECAR_STATUS = 'sidecar.istio.io/status';

/**
 * Whether the node agent captures a pod's traffic, as Istio's CNI agent decides
 * (util.PodRedirectionEnabled with the default enablement selector): the pod says
 * `istio.io/dataplane-mode=ambient`, or its namespace does and the pod does not say `none`.
 * Pods on the host network share the node's namespace and pods with a sidecar capture
 * themselves, so neither is ever enrolled.
 */
export function shouldEnroll(pod: PodInfo, namespace: NamespaceInfo | undefined): boolean {
  if (pod.hostNetwork || pod.annotations[SIDECAR_STATUS] !== undefined) return false;
  const own = pod.labels[DATAPLANE_MODE];
  if (own === DATAPLANE_MODE_AMBIENT) return true;
  if (own === DATAPLANE_MODE_NONE) return false;
  return namespace?.labels[DATAPLANE_MODE] === DATAPLANE_MODE_AMBIENT;
}
