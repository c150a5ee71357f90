/**
 * Security policies that apply to nothing: a workload selector no pod or WorkloadEntry
 * carries (Istio's NoMatchingWorkloadsFound), a targetRef naming an object that does not
 * exist (ReferencedResourceNotFound), or a targetRef to a service no waypoint serves, so
 * nothing enforces it (IneffectivePolicy). Pure.
 */
import type {
  AnyResource,
  PolicyTargetReference,
  WorkloadSelector,
} from '../../api/resources/index.js';
import { selectorMatches } from '../ambient/selector.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { Labels } from '../model/namespaces.js';
import { message, type AnalysisMessage } from './message.js';
import { analyzed } from './resources.js';

export interface PolicyCheckOptions {
  readonly rootNamespace: string;
}

interface Selectable {
  readonly namespace: string;
  readonly labels: Labels;
}

function workloads(model: MeshModel): Selectable[] {
  return [...model.pods.filter((p) => !p.terminal), ...model.workloadEntries];
}

function describeLabels(labels: Labels): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** A policy's selector with labels that no workload it can reach carries. */
function selectorFinding(
  policy: AnyResource,
  selector: WorkloadSelector | undefined,
  all: readonly Selectable[],
  options: PolicyCheckOptions,
): AnalysisMessage | undefined {
  const labels = selector?.matchLabels ?? {};
  if (Object.keys(labels).length === 0) return undefined;
  const namespace = policy.metadata.namespace ?? 'default';
  const meshWide = namespace === options.rootNamespace;
  const reached = all.filter((w) => meshWide || w.namespace === namespace);
  if (reached.some((w) => selectorMatches({ matchLabels: labels }, w.labels))) return undefined;
  const where = meshWide ? 'in any namespace' : `in namespace ${namespace}`;
  return message('IST0127', analyzed(policy), {
    field: 'spec.selector.matchLabels',
    message: `No matching workloads for this resource with the following labels: ${describeLabels(labels)} (no pod or WorkloadEntry ${where} has them), so it applies to nothing`,
    fix: 'correct the labels, or deploy the workloads it is meant for',
  });
}

function exists(
  model: MeshModel,
  all: readonly AnyResource[],
  ref: PolicyTargetReference,
  namespace: string,
) {
  const named = (r: AnyResource) =>
    r.metadata.name === ref.name && (r.metadata.namespace ?? 'default') === namespace;
  switch (ref.kind) {
    case 'Service':
      return all.some((r) => r.type === 'Service' && named(r));
    case 'ServiceEntry':
      return all.some((r) => r.type === 'ServiceEntry' && named(r));
    case 'Gateway':
      return (
        model.waypoints.has(`${namespace}/${ref.name}`) ||
        all.some((r) => r.type === 'KubernetesGateway' && named(r))
      );
    default:
      // GatewayClass: cluster-scoped classes (istio-waypoint) the mesh provides.
      return true;
  }
}

/** Whether a waypoint serves the service a targetRef names (else no proxy enforces the policy). */
function servedByWaypoint(
  model: MeshModel,
  ref: PolicyTargetReference,
  namespace: string,
): boolean {
  if (ref.kind !== 'Service' && ref.kind !== 'ServiceEntry') return true;
  const source = ref.kind === 'Service' ? 'Service' : 'ServiceEntry';
  return model.services.some(
    (s) =>
      s.source === source &&
      s.namespace === namespace &&
      s.name === ref.name &&
      s.waypoint.state === 'bound',
  );
}

function targetRefFindings(
  model: MeshModel,
  all: readonly AnyResource[],
  policy: AnyResource,
  refs: readonly { field: string; ref: PolicyTargetReference }[],
): AnalysisMessage[] {
  const namespace = policy.metadata.namespace ?? 'default';
  const out: AnalysisMessage[] = [];
  for (const { field, ref } of refs) {
    if (!exists(model, all, ref, namespace)) {
      out.push(
        message('IST0101', analyzed(policy), {
          field,
          message: `Referenced ${ref.kind} not found: "${namespace}/${ref.name}", so the policy applies to nothing`,
          fix: `correct ${field}.name, or create the ${ref.kind}`,
        }),
      );
    } else if (!servedByWaypoint(model, ref, namespace)) {
      out.push(
        message('IST0167', analyzed(policy), {
          field,
          message: `The policy has no impact: ${ref.kind} ${namespace}/${ref.name} is not bound to a waypoint, and only a waypoint enforces a policy bound by targetRef`,
          fix: `label ${ref.kind} ${namespace}/${ref.name} (or its namespace) istio.io/use-waypoint=<waypoint>, or use a selector for the node tunnel`,
        }),
      );
    }
  }
  return out;
}

export function checkPolicyTargets(
  model: MeshModel,
  resources: readonly AnyResource[],
  options: PolicyCheckOptions,
): AnalysisMessage[] {
  const all = workloads(model);
  const out: AnalysisMessage[] = [];
  for (const policy of model.authorizationPolicies) {
    const { spec } = policy;
    const found = selectorFinding(policy, spec.selector, all, options);
    if (found !== undefined) out.push(found);
    const refs = [
      ...(spec.targetRef === undefined ? [] : [{ field: 'spec.targetRef', ref: spec.targetRef }]),
      ...(spec.targetRefs ?? []).map((ref, i) => ({ field: `spec.targetRefs[${i}]`, ref })),
    ];
    out.push(...targetRefFindings(model, resources, policy, refs));
  }
  for (const policy of model.peerAuthentications) {
    const found = selectorFinding(policy, policy.spec.selector, all, options);
    if (found !== undefined) out.push(found);
  }
  return out;
}
