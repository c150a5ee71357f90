/**
 * Step 1: the source workload, and whether its node tunnel captures its traffic (and why,
 * from the labels that enrolled it, when the model is known).
 */
import { isIP } from 'node:net';
import {
  AMBIENT_REDIRECTION,
  DATAPLANE_MODE,
  DATAPLANE_MODE_AMBIENT,
  DATAPLANE_MODE_NONE,
  SIDECAR_STATUS,
} from '../../controlplane/model/labels.js';
import type { MeshModel } from '../../controlplane/model/mesh-model.js';
import type { Workload } from '../../ztunnel/state/types.js';
import { ExplainInputError } from './errors.js';
import type { Step } from './explanation.js';
import type { MeshView } from './mesh-view.js';

/** `namespace/name` of a pod (or WorkloadEntry), a bare name in `default`, or an IP. */
export function findSource(view: MeshView, from: string): Workload {
  const found = isIP(from)
    ? view.proxy.workloadByIp(from)
    : from.includes('/')
      ? view.proxy.workloadByName(
          from.slice(0, from.indexOf('/')),
          from.slice(from.indexOf('/') + 1),
        )
      : view.proxy.workloadByName('default', from);
  if (found === undefined) {
    throw new ExplainInputError('--from', from, 'no workload with that namespace/name or address');
  }
  if (found.addresses.length === 0) {
    throw new ExplainInputError('--from', from, 'the workload has no address');
  }
  return found;
}

/** Why the pod is (or is not) captured, in the labels' words (Istio's enablement rule). */
function enrollmentReason(model: MeshModel | undefined, workload: Workload): string | undefined {
  const pod = model?.pods.find(
    (p) => p.namespace === workload.namespace && p.name === workload.name,
  );
  if (pod === undefined) return undefined;
  const own = pod.labels[DATAPLANE_MODE];
  const ns = model?.namespaces.get(pod.namespace)?.labels[DATAPLANE_MODE];
  if (pod.hostNetwork) return 'it runs on the host network, which is never captured';
  if (pod.annotations[SIDECAR_STATUS] !== undefined)
    return 'it has a sidecar, which is never captured';
  if (pod.instanceOf !== undefined) {
    return `it is waypoint ${pod.instanceOf.namespace}/${pod.instanceOf.name}, which speaks HBONE itself`;
  }
  if (pod.ambient) {
    if (own === DATAPLANE_MODE_AMBIENT)
      return `pod label ${DATAPLANE_MODE}=${DATAPLANE_MODE_AMBIENT}`;
    if (pod.annotations[AMBIENT_REDIRECTION] !== undefined)
      return `annotation ${AMBIENT_REDIRECTION}`;
    return `namespace ${pod.namespace} has ${DATAPLANE_MODE}=${DATAPLANE_MODE_AMBIENT}`;
  }
  if (own === DATAPLANE_MODE_NONE) return `pod label ${DATAPLANE_MODE}=${DATAPLANE_MODE_NONE}`;
  return ns === undefined
    ? `neither pod nor namespace ${pod.namespace} has ${DATAPLANE_MODE}=${DATAPLANE_MODE_AMBIENT}`
    : `namespace ${pod.namespace} has ${DATAPLANE_MODE}=${ns}`;
}

export function captureStep(view: MeshView, source: Workload): Extract<Step, { kind: 'capture' }> {
  const captured = source.protocol === 'HBONE' && !source.nativeTunnel;
  const ref = view.workloadRef(source);
  const reason =
    enrollmentReason(view.served.model, source) ??
    (captured
      ? 'the control plane publishes it with HBONE'
      : 'the control plane publishes it without HBONE');
  const nodeTunnel = source.node === '' ? 'the node tunnel' : `the node tunnel on ${source.node}`;
  return {
    kind: 'capture',
    summary: captured
      ? `${ref.name} (${ref.address}) is in the ambient mesh: ${nodeTunnel} captures its connections (${reason})`
      : `${ref.name} (${ref.address}) is not in the ambient mesh: no node tunnel captures its connections (${reason}); they leave in plaintext without an identity`,
    source: ref,
    captured,
    ...(captured && { nodeTunnel: source.node === '' ? 'ztunnel' : `ztunnel on ${source.node}` }),
    reason,
  };
}
