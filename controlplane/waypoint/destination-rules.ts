/**
 * Which DestinationRule applies to a host, as Istio's push context decides it
 * (pilot/pkg/model/push_context.go setDestinationRules / destinationRule,
 * destination_rule.go mergeDestinationRule):
 *
 * - rules are taken oldest first; rules for one host in one namespace merge: subsets are
 *   concatenated (a repeated subset name is dropped), the first top-level trafficPolicy and
 *   the first exportTo win;
 * - a proxy looks in its own namespace first (any rule visible there), then in the target
 *   service's namespace, then in the root namespace (rules exported to the proxy's namespace);
 * - in each namespace the most specific host wins (exact, else the longest wildcard), and an
 *   unexported match there does not fall back to a less specific one.
 *
 * Rules with a workloadSelector apply to the workloads they select, never to a waypoint's
 * routes, so they are left out.
 */
import type { DestinationRuleResource, Subset, TrafficPolicy } from '../../api/resources/index.js';
import type { ObjectRef } from '../model/issues.js';
import { compareText } from '../model/services.js';
import { mostSpecificHost, resolveHost } from './hosts.js';

/** The rules for one host in one namespace, merged. */
export interface MergedDestinationRule {
  readonly host: string;
  readonly trafficPolicy: TrafficPolicy | undefined;
  readonly subsets: readonly Subset[];
  /** Where it came from: the oldest rule merged in. */
  readonly source: ObjectRef;
}

interface Entry {
  host: string;
  trafficPolicy: TrafficPolicy | undefined;
  subsets: Subset[];
  exportTo: readonly string[];
  source: ObjectRef;
}

type HostIndex = Map<string, Entry>;

/** Creation time, then name, then namespace (Istio's sortConfigBySelectorAndCreationTime). */
function compareRules(a: DestinationRuleResource, b: DestinationRuleResource): number {
  return (
    compareText(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '') ||
    compareText(a.metadata.name, b.metadata.name) ||
    compareText(a.metadata.namespace ?? '', b.metadata.namespace ?? '')
  );
}

function merge(index: HostIndex, host: string, rule: DestinationRuleResource): void {
  const { spec, metadata } = rule;
  const existing = index.get(host);
  if (existing === undefined) {
    index.set(host, {
      host,
      trafficPolicy: spec.trafficPolicy,
      subsets: [...(spec.subsets ?? [])],
      exportTo: spec.exportTo ?? [],
      source: {
        type: 'DestinationRule',
        namespace: metadata.namespace ?? 'default',
        name: metadata.name,
      },
    });
    return;
  }
  const names = new Set(existing.subsets.map((s) => s.name));
  for (const subset of spec.subsets ?? [])
    if (!names.has(subset.name)) existing.subsets.push(subset);
  existing.trafficPolicy ??= spec.trafficPolicy;
  if (existing.exportTo.length === 0) existing.exportTo = spec.exportTo ?? [];
}

function exportedTo(exportTo: readonly string[], namespace: string): boolean {
  return exportTo.length === 0 || exportTo.includes('*') || exportTo.includes(namespace);
}

function view(entry: Entry): MergedDestinationRule {
  return {
    host: entry.host,
    trafficPolicy: entry.trafficPolicy,
    subsets: entry.subsets,
    source: entry.source,
  };
}

export class DestinationRuleIndex {
  /** Rules a proxy in the namespace sees there: all but those exported elsewhere only. */
  readonly #local = new Map<string, HostIndex>();
  /** Rules a namespace exports to others. */
  readonly #exported = new Map<string, HostIndex>();
  readonly #rootNamespace: string;

  constructor(
    rules: readonly DestinationRuleResource[],
    options: { readonly domainSuffix: string; readonly rootNamespace: string },
  ) {
    this.#rootNamespace = options.rootNamespace;
    for (const rule of [...rules].sort(compareRules)) {
      if (rule.spec.workloadSelector !== undefined) continue;
      const namespace = rule.metadata.namespace ?? 'default';
      const host = resolveHost(rule.spec.host, namespace, options.domainSuffix);
      const exportTo = rule.spec.exportTo ?? [];
      const visibleHere =
        exportTo.length === 0 ||
        exportTo.includes('*') ||
        exportTo.includes('.') ||
        exportTo.includes(namespace);
      if (visibleHere) merge(indexFor(this.#local, namespace), host, rule);
      const privateOnly =
        exportTo.length === 1 && (exportTo[0] === '.' || exportTo[0] === namespace);
      if (!privateOnly) merge(indexFor(this.#exported, namespace), host, rule);
    }
  }

  /** The rule a proxy in `proxyNamespace` applies to `hostname`, whose service lives in `serviceNamespace`. */
  lookup(
    hostname: string,
    proxyNamespace: string,
    serviceNamespace: string | undefined,
  ): MergedDestinationRule | undefined {
    const local = this.#local.get(proxyNamespace);
    const own = local && mostSpecificHost(hostname, local.keys());
    if (local !== undefined && own !== undefined) return view(local.get(own) as Entry);
    for (const namespace of [serviceNamespace, this.#rootNamespace]) {
      if (namespace === undefined) continue;
      const exported = this.#exported.get(namespace);
      const host = exported && mostSpecificHost(hostname, exported.keys());
      if (exported === undefined || host === undefined) continue;
      const entry = exported.get(host) as Entry;
      if (exportedTo(entry.exportTo, proxyNamespace)) return view(entry);
    }
    return undefined;
  }
}

function indexFor(map: Map<string, HostIndex>, namespace: string): HostIndex {
  let index = map.get(namespace);
  if (index === undefined) {
    index = new Map();
    map.set(namespace, index);
  }
  return index;
}
