/**
 * The source workloads a VirtualService match's `sourceLabels` / `sourceNamespace` select,
 * by address. A sidecar decides this by its own labels when its config is built; a waypoint
 * sees requests from many clients, so the control plane hands it the addresses instead.
 */
import { isIPAddress } from '../../api/schema/index.js';
import { selectorMatches } from '../ambient/selector.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { Labels } from '../model/namespaces.js';

export function sourceAddresses(
  model: MeshModel,
  labels: Labels | undefined,
  namespace: string | undefined,
): string[] {
  const out = new Set<string>();
  const admits = (workload: { namespace: string; labels: Labels }) =>
    (namespace === undefined || workload.namespace === namespace) &&
    selectorMatches({ matchLabels: labels ?? {} }, workload.labels);
  for (const pod of model.pods) {
    if (!pod.terminal && admits(pod)) for (const ip of pod.ips) out.add(ip);
  }
  for (const entry of model.workloadEntries) {
    if (admits(entry) && isIPAddress(entry.address)) out.add(entry.address);
  }
  return [...out].sort();
}
