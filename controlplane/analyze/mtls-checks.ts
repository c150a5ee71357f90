/**
 * STRICT mTLS meets workloads outside the ambient mesh. In ambient mode the node tunnel
 * enforces PeerAuthentication, so:
 * - a pod under STRICT that is not enrolled has no node tunnel in front of it: STRICT is
 *   not enforced there and its app takes plaintext from anyone (AMB0101);
 * - a pod outside the mesh connects in plaintext, without an identity, so the node tunnel of
 *   a STRICT workload refuses it. Statically a pod "calls" a workload when config names it as
 *   that workload's client: a VirtualService match whose `sourceLabels`/`sourceNamespace`
 *   selects it on a route for a service with STRICT endpoints, or an ALLOW
 *   AuthorizationPolicy on STRICT workloads whose `from.source.namespaces` names its
 *   namespace (AMB0102).
 * Pure.
 */
import { peerAuthenticationPolicyNames } from '../ambient/peer-authentication.js';
import { selectorMatches } from '../ambient/selector.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { Labels } from '../model/namespaces.js';
import { serviceKey } from '../model/services.js';
import type { PodWorkload } from '../model/workloads.js';
import { hostCovers, resolveHost } from '../waypoint/hosts.js';
import { message, type AnalysisMessage } from './message.js';
import { analyzed } from './resources.js';

export interface MtlsCheckOptions {
  readonly rootNamespace: string;
}

/** Pods that connect without the mesh: not captured, and not a waypoint (which speaks HBONE itself). */
function outsideMesh(pod: PodWorkload): boolean {
  return !pod.ambient && pod.instanceOf === undefined && !pod.terminal;
}

/** Whether PeerAuthentication makes the pod STRICT (on every port or on some). */
function isStrict(
  pod: { namespace: string; labels: Labels },
  model: MeshModel,
  options: MtlsCheckOptions,
) {
  return peerAuthenticationPolicyNames(pod, model.peerAuthentications, options).length > 0;
}

function podNames(pods: readonly PodWorkload[]): string {
  const shown = pods.slice(0, 3).map((p) => `${p.namespace}/${p.name}`);
  return pods.length > 3 ? `${shown.join(', ')}, … (${pods.length})` : shown.join(', ');
}

export function checkStrictWorkloadsOutsideMesh(
  model: MeshModel,
  options: MtlsCheckOptions,
): AnalysisMessage[] {
  return model.pods
    .filter((pod) => outsideMesh(pod) && isStrict(pod, model, options))
    .map((pod) =>
      message('AMB0101', analyzed(pod.resource), {
        message:
          'PeerAuthentication requires mTLS (STRICT) for this pod, but it is not in the ambient mesh: no node tunnel enforces STRICT for it, and its app accepts plaintext from anyone',
        fix: 'enroll it (label the pod or its namespace istio.io/dataplane-mode=ambient), or exclude it from the STRICT PeerAuthentication',
      }),
    );
}

/** The service's endpoints that are enrolled and STRICT: their node tunnels refuse plaintext. */
function strictEndpoints(model: MeshModel, key: string, options: MtlsCheckOptions): PodWorkload[] {
  return (model.endpoints.get(key) ?? [])
    .map((e) => e.workload)
    .filter((w): w is PodWorkload => w.kind === 'Pod' && w.ambient && isStrict(w, model, options));
}

function virtualServiceSources(model: MeshModel, options: MtlsCheckOptions): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const vs of model.virtualServices) {
    const namespace = vs.metadata.namespace ?? 'default';
    const hosts = (vs.spec.hosts ?? []).map((h) => resolveHost(h, namespace, model.domainSuffix));
    const strict = model.services
      .filter((s) => hosts.some((h) => hostCovers(h, s.hostname)))
      .filter(
        (s) => strictEndpoints(model, serviceKey(s.namespace, s.hostname), options).length > 0,
      );
    if (strict.length === 0) continue;
    (vs.spec.http ?? []).forEach((route, i) =>
      (route.match ?? []).forEach((match, j) => {
        if (match.sourceLabels === undefined && match.sourceNamespace === undefined) return;
        const clients = model.pods.filter(
          (p) =>
            outsideMesh(p) &&
            (match.sourceNamespace === undefined || p.namespace === match.sourceNamespace) &&
            selectorMatches({ matchLabels: match.sourceLabels ?? {} }, p.labels),
        );
        if (clients.length === 0) return;
        const field = `spec.http[${i}].match[${j}].${match.sourceLabels !== undefined ? 'sourceLabels' : 'sourceNamespace'}`;
        out.push(
          message('AMB0102', analyzed(vs), {
            field,
            message: `selects clients outside the ambient mesh (${podNames(clients)}); ${strict.map((s) => s.hostname).join(', ')} has STRICT endpoints whose node tunnels refuse their plaintext connections, and no waypoint sees their requests`,
            fix: 'enroll those clients (istio.io/dataplane-mode=ambient), or set the destination to PERMISSIVE',
          }),
        );
      }),
    );
  }
  return out;
}

function policySources(model: MeshModel, options: MtlsCheckOptions): AnalysisMessage[] {
  const out: AnalysisMessage[] = [];
  for (const policy of model.authorizationPolicies) {
    const { spec } = policy;
    if ((spec.action ?? 'ALLOW') !== 'ALLOW' || spec.selector === undefined) continue;
    const namespace = policy.metadata.namespace ?? 'default';
    const meshWide = namespace === options.rootNamespace;
    const targets = model.pods.filter(
      (p) =>
        (meshWide || p.namespace === namespace) &&
        p.ambient &&
        selectorMatches(spec.selector ?? {}, p.labels) &&
        isStrict(p, model, options),
    );
    if (targets.length === 0) continue;
    (spec.rules ?? []).forEach((rule, i) =>
      (rule.from ?? []).forEach((from, j) =>
        (from.source.namespaces ?? []).forEach((allowed, k) => {
          const clients = model.pods.filter((p) => outsideMesh(p) && p.namespace === allowed);
          if (clients.length === 0) return;
          out.push(
            message('AMB0102', analyzed(policy), {
              field: `spec.rules[${i}].from[${j}].source.namespaces[${k}]`,
              message: `allows namespace ${allowed}, whose pods ${podNames(clients)} are outside the ambient mesh: they connect in plaintext without an identity, so STRICT on ${podNames(targets)} refuses them and this rule never matches them`,
              fix: `enroll namespace ${allowed} (istio.io/dataplane-mode=ambient), or set the destination to PERMISSIVE`,
            }),
          );
        }),
      ),
    );
  }
  return out;
}

export function checkPlaintextClientsOfStrictWorkloads(
  model: MeshModel,
  options: MtlsCheckOptions,
): AnalysisMessage[] {
  return [...virtualServiceSources(model, options), ...policySources(model, options)];
}
