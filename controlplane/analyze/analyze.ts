/**
 * `ambit analyze`'s engine: every document's validation error, the model's and the waypoint
 * compiler's issues, and the cross-object checks, as findings sorted most severe first.
 * Pure: resources in, findings out; the CLI only reads files and prints.
 */
import type { AnyResource, ResourceError } from '../../api/resources/index.js';
import { buildModel } from '../model/mesh-model.js';
import { compileWaypointServices } from '../waypoint/compile.js';
import { issueMessage } from './from-issues.js';
import { describeResource, LEVELS, message, type AnalysisMessage } from './message.js';
import {
  checkPlaintextClientsOfStrictWorkloads,
  checkStrictWorkloadsOutsideMesh,
} from './mtls-checks.js';
import { checkPolicyTargets } from './policy-checks.js';
import { ResourceLookup } from './resources.js';
import {
  checkConflictingVirtualServices,
  checkVirtualServiceDestinations,
  checkVirtualServiceHosts,
} from './routing-checks.js';

export interface AnalyzeOptions {
  readonly rootNamespace: string;
  readonly trustDomain: string;
  readonly domainSuffix: string;
}

export const DEFAULT_ANALYZE_OPTIONS: AnalyzeOptions = {
  rootNamespace: 'istio-system',
  trustDomain: 'cluster.local',
  domainSuffix: 'cluster.local',
};

export interface AnalyzeInput {
  /** The documents that passed validation. */
  readonly resources: readonly AnyResource[];
  /** The loader's refusals (api/resources/load.ts): each becomes an IST0106. */
  readonly errors: readonly ResourceError[];
}

function schemaMessage(error: ResourceError): AnalysisMessage {
  return message(
    'IST0106',
    {
      kind: error.kind ?? 'document',
      ...(error.namespace !== undefined && { namespace: error.namespace }),
      name: error.resourceName ?? '(unnamed)',
      ...(error.file !== undefined && { file: error.file }),
      ...(error.line !== undefined && { line: error.line }),
    },
    {
      ...(error.path !== '' && { field: error.path }),
      message: `Schema validation error: ${error.reason}`,
      fix: 'correct the field; the control plane refuses this document and keeps serving the last good version of the object',
    },
  );
}

function compareMessages(a: AnalysisMessage, b: AnalysisMessage): number {
  const text = (m: AnalysisMessage) =>
    `${m.code} ${describeResource(m.resource)} ${m.field ?? ''} ${m.message}`;
  return (
    LEVELS.indexOf(b.level) - LEVELS.indexOf(a.level) ||
    (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0)
  );
}

export function analyze(
  input: AnalyzeInput,
  options: AnalyzeOptions = DEFAULT_ANALYZE_OPTIONS,
): AnalysisMessage[] {
  const model = buildModel(input.resources, { domainSuffix: options.domainSuffix });
  const compiled = compileWaypointServices(model, options);
  const lookup = new ResourceLookup(input.resources);
  const found: AnalysisMessage[] = [
    ...input.errors.map(schemaMessage),
    ...[...model.issues, ...compiled.issues].flatMap((issue) => issueMessage(issue, lookup) ?? []),
    ...checkVirtualServiceHosts(model),
    ...checkVirtualServiceDestinations(model, options),
    ...checkConflictingVirtualServices(model),
    ...checkPolicyTargets(model, input.resources, options),
    ...checkStrictWorkloadsOutsideMesh(model, options),
    ...checkPlaintextClientsOfStrictWorkloads(model, options),
  ];
  const seen = new Set<string>();
  return found
    .filter((m) => {
      const key = JSON.stringify(m);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort(compareMessages);
}
