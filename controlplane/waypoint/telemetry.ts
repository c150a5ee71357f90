/**
 * Istio's Telemetry API for waypoints: which `accessLogging` and `tracing` entries apply to a
 * service's requests at its waypoint, and the destination workload facts request metrics are
 * labelled with.
 *
 * Scopes, most specific first (each section — accessLogging, tracing — is taken whole from
 * the most specific Telemetry that sets it, as Istio does for a provider list):
 * 1. `targetRefs` naming the service (Service or ServiceEntry, in the service's namespace);
 * 2. `targetRefs` naming the waypoint's Gateway, or a `selector` matching the waypoint's pod
 *    label `gateway.networking.k8s.io/gateway-name`, in the waypoint's namespace;
 * 3. no selector and no targetRefs, in the waypoint's namespace;
 * 4. no selector and no targetRefs, in the root namespace (mesh-wide).
 * Within a scope the first by name wins. Of an entry's list, the first entry whose `match.mode`
 * covers a server (CLIENT_AND_SERVER, SERVER; absent means both) is used: a waypoint serves.
 */
import type { TelemetryResource } from '../../api/resources/index.js';
import type { TelemetryAccessLogging, TelemetryTracing } from '../../api/resources/telemetry.js';
import type { Cluster } from '../../api/waypoint/config.js';
import type {
  AccessLoggingSetting,
  ServiceTelemetry,
  TracingSetting,
  WorkloadTelemetry,
} from '../../api/waypoint/telemetry.js';
import { canonical } from '../ambient/workload-address.js';
import { GATEWAY_NAME } from '../model/labels.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { MeshService } from '../model/services.js';
import type { PodWorkload } from '../model/workloads.js';
import type { Waypoint } from '../model/waypoints.js';

const DEFAULT_CLUSTER_ID = 'Kubernetes';

/** What one compilation's telemetry reads, built once. */
export interface TelemetryIndex {
  readonly telemetries: readonly TelemetryResource[];
  readonly rootNamespace: string;
  /** Istio's cluster id, `source_cluster`/`destination_cluster` in metrics. */
  readonly clusterId: string;
  /** Pod workloads by IP. */
  readonly workloads: ReadonlyMap<string, WorkloadTelemetry>;
}

export function telemetryIndex(
  model: MeshModel,
  options: { rootNamespace: string; clusterId?: string },
): TelemetryIndex {
  const cluster = options.clusterId ?? DEFAULT_CLUSTER_ID;
  const workloads = new Map<string, WorkloadTelemetry>();
  for (const pod of model.pods) {
    const facts = workloadFacts(pod, cluster);
    for (const ip of pod.ips) workloads.set(ip, facts);
  }
  return {
    telemetries: model.telemetries,
    rootNamespace: options.rootNamespace,
    clusterId: cluster,
    workloads,
  };
}

/** What Istio's metric labels call a pod. */
export function workloadFacts(pod: PodWorkload, cluster: string): WorkloadTelemetry {
  const names = canonical(pod.labels, pod.workloadName);
  return {
    workload: pod.workloadName,
    namespace: pod.namespace,
    canonicalService: names.canonicalName,
    canonicalRevision: names.canonicalRevision,
    cluster,
  };
}

export type Scope = 0 | 1 | 2 | 3;

/** How specifically a Telemetry applies to this service at this waypoint; undefined: not. */
function scopeOf(
  telemetry: TelemetryResource,
  service: MeshService,
  waypoint: Waypoint,
  rootNamespace: string,
): Scope | undefined {
  const namespace = telemetry.metadata.namespace ?? '';
  const { selector, targetRef, targetRefs } = telemetry.spec;
  const refs = targetRefs ?? (targetRef === undefined ? [] : [targetRef]);
  if (refs.length > 0) {
    const named = (kind: string, name: string) =>
      refs.some((r) => r.kind === kind && r.name === name);
    if (namespace === service.namespace && named(service.resource.kind, service.name)) return 0;
    if (namespace === waypoint.namespace && named('Gateway', waypoint.name)) return 1;
    return undefined;
  }
  const labels = selector?.matchLabels;
  if (labels !== undefined && Object.keys(labels).length > 0) {
    const waypointLabels: Record<string, string> = { [GATEWAY_NAME]: waypoint.name };
    const matches = Object.entries(labels).every(([k, v]) => waypointLabels[k] === v);
    return namespace === waypoint.namespace && matches ? 1 : undefined;
  }
  if (namespace === waypoint.namespace) return 2;
  if (namespace === rootNamespace) return 3;
  return undefined;
}

const servesServer = (entry: { match?: { mode?: string } }): boolean =>
  entry.match?.mode !== 'CLIENT';

function providers(entry: { providers?: readonly { name: string }[] }): string[] {
  return (entry.providers ?? []).map((p) => p.name);
}

function accessLoggingSetting(entry: TelemetryAccessLogging): AccessLoggingSetting {
  return { providers: providers(entry), disabled: entry.disabled ?? false };
}

function tracingSetting(entry: TelemetryTracing): TracingSetting {
  return {
    providers: providers(entry),
    ...(entry.randomSamplingPercentage === undefined
      ? {}
      : { randomSamplingPercentage: entry.randomSamplingPercentage }),
    disableSpanReporting: entry.disableSpanReporting ?? false,
  };
}

/**
 * The `accessLogging` and `tracing` settings that apply to a proxy: each section from the most
 * specific Telemetry (lowest `scopeOf`) that has an entry `applies` takes (by `match.mode`).
 */
export function telemetrySettings(
  index: TelemetryIndex,
  scopeOf: (telemetry: TelemetryResource) => Scope | undefined,
  applies: (entry: { match?: { mode?: string } }) => boolean,
): Pick<ServiceTelemetry, 'accessLogging' | 'tracing'> {
  const applying = index.telemetries
    .map((telemetry) => ({ telemetry, scope: scopeOf(telemetry) }))
    .filter((a): a is { telemetry: TelemetryResource; scope: Scope } => a.scope !== undefined)
    // Stable: within a scope the model's namespace/name order stays.
    .sort((a, b) => a.scope - b.scope);
  let accessLogging: AccessLoggingSetting | undefined;
  let tracing: TracingSetting | undefined;
  for (const { telemetry } of applying) {
    const logEntry = telemetry.spec.accessLogging?.find(applies);
    if (accessLogging === undefined && logEntry !== undefined)
      accessLogging = accessLoggingSetting(logEntry);
    const traceEntry = telemetry.spec.tracing?.find(applies);
    if (tracing === undefined && traceEntry !== undefined) tracing = tracingSetting(traceEntry);
  }
  return {
    ...(accessLogging === undefined ? {} : { accessLogging }),
    ...(tracing === undefined ? {} : { tracing }),
  };
}

/** The workload facts of every endpoint of `clusters`, by IP (destination labels). */
export function endpointWorkloads(
  clusters: readonly Cluster[],
  index: TelemetryIndex,
): Record<string, WorkloadTelemetry> {
  const workloads: Record<string, WorkloadTelemetry> = {};
  for (const cluster of clusters)
    for (const endpoint of cluster.endpoints) {
      const facts = index.workloads.get(endpoint.address);
      if (facts !== undefined) workloads[endpoint.address] = facts;
    }
  return workloads;
}

/** The telemetry of one service at its waypoint: settings that apply and destination facts. */
export function serviceTelemetry(
  service: MeshService,
  waypoint: Waypoint,
  clusters: readonly Cluster[],
  index: TelemetryIndex,
): ServiceTelemetry {
  return {
    ...telemetrySettings(
      index,
      (telemetry) => scopeOf(telemetry, service, waypoint, index.rootNamespace),
      servesServer,
    ),
    workloads: endpointWorkloads(clusters, index),
  };
}
