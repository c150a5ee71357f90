import type { MeshModel } from '../model/mesh-model.js';
import type { ModelIssue } from '../model/issues.js';
import type { MeshService } from '../model/services.js';
import { DestinationRuleIndex } from './destination-rules.js';
import { servicesByHostname } from './hosts.js';

export interface WaypointCompileOptions {
  /** The mesh trust domain, for endpoint identities. */
  readonly trustDomain: string;
  /** Where mesh-wide DestinationRules live. */
  readonly rootNamespace: string;
  /** Istio's cluster id, for metric labels; `Kubernetes` unless set. */
  readonly clusterId?: string;
}

/** Issues without repeats: many routes naming one missing subset is one finding per route. */
export class IssueSink {
  readonly list: ModelIssue[] = [];
  readonly #seen = new Set<string>();

  add(issue: ModelIssue): void {
    const key = JSON.stringify(issue);
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.list.push(issue);
  }
}

/** What every part of one compilation reads. */
export interface CompileContext {
  readonly model: MeshModel;
  readonly options: WaypointCompileOptions;
  readonly servicesByHostname: ReadonlyMap<string, readonly MeshService[]>;
  readonly destinationRules: DestinationRuleIndex;
  readonly issues: IssueSink;
}

/** A fresh context for one compilation (waypoint services or gateways) of `model`. */
export function compileContext(model: MeshModel, options: WaypointCompileOptions): CompileContext {
  return {
    model,
    options,
    servicesByHostname: servicesByHostname(model.services),
    destinationRules: new DestinationRuleIndex(model.destinationRules, {
      domainSuffix: model.domainSuffix,
      rootNamespace: options.rootNamespace,
    }),
    issues: new IssueSink(),
  };
}
