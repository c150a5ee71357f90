/**
 * Istio's Telemetry API at an ingress gateway pod: which `accessLogging` and `tracing` entries
 * apply to its requests, the workloads behind its clusters (destination labels) and its own
 * names (source labels: a gateway reports its requests as their source).
 *
 * Scopes, most specific first, as at a waypoint (controlplane/waypoint/telemetry.ts):
 * 1. in the pod's namespace, a `selector` matching the pod's labels, or `targetRefs` naming its
 *    Gateway API Gateway (the pod's `gateway.networking.k8s.io/gateway-name`);
 * 2. no selector and no targetRefs, in the pod's namespace;
 * 3. no selector and no targetRefs, in the root namespace.
 * Istio treats a gateway as a client: entries for CLIENT and CLIENT_AND_SERVER apply, SERVER
 * entries do not.
 */
import type { GatewayTelemetry } from '../../api/gateway/config.js';
import type { TelemetryResource } from '../../api/resources/index.js';
import type { Cluster } from '../../api/waypoint/config.js';
import { selectorMatches } from '../ambient/selector.js';
import { GATEWAY_NAME } from '../model/labels.js';
import type { PodWorkload } from '../model/workloads.js';
import {
  endpointWorkloads,
  telemetrySettings,
  workloadFacts,
  type Scope,
  type TelemetryIndex,
} from '../waypoint/telemetry.js';

function scopeOf(
  telemetry: TelemetryResource,
  pod: PodWorkload,
  rootNamespace: string,
): Scope | undefined {
  const namespace = telemetry.metadata.namespace ?? '';
  const { selector, targetRef, targetRefs } = telemetry.spec;
  const refs = targetRefs ?? (targetRef === undefined ? [] : [targetRef]);
  if (refs.length > 0) {
    const gateway = pod.labels[GATEWAY_NAME];
    const named = refs.some((r) => r.kind === 'Gateway' && r.name === gateway);
    return namespace === pod.namespace && gateway !== undefined && named ? 1 : undefined;
  }
  const labels = selector?.matchLabels;
  if (labels !== undefined && Object.keys(labels).length > 0)
    return namespace === pod.namespace && selectorMatches({ matchLabels: labels }, pod.labels)
      ? 1
      : undefined;
  if (namespace === pod.namespace) return 2;
  if (namespace === rootNamespace) return 3;
  return undefined;
}

const servesClient = (entry: { match?: { mode?: string } }): boolean =>
  entry.match?.mode !== 'SERVER';

export function gatewayTelemetry(
  pod: PodWorkload,
  clusters: readonly Cluster[],
  index: TelemetryIndex,
): GatewayTelemetry {
  return {
    ...telemetrySettings(
      index,
      (telemetry) => scopeOf(telemetry, pod, index.rootNamespace),
      servesClient,
    ),
    workloads: endpointWorkloads(clusters, index),
    source: workloadFacts(pod, index.clusterId),
  };
}
