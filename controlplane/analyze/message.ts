/**
 * What `ambit analyze` reports: one finding about one object, with Istio's analyzer code
 * where Istio has one (istio pkg/config/analysis/msg/messages.yaml) and Ambit's own `AMB…`
 * code otherwise. Codes and names are stable: scripts may filter on them.
 */

/** Istio's levels; `istioctl analyze` fails (exit 79) at Error unless told otherwise. */
export type AnalysisLevel = 'Error' | 'Warning' | 'Info';

export const LEVELS: readonly AnalysisLevel[] = ['Info', 'Warning', 'Error'];

/** The object a finding is about, as people name it: `Kind namespace/name`. */
export interface AnalyzedResource {
  readonly kind: string;
  /** Absent for cluster-scoped kinds (Namespace). */
  readonly namespace?: string;
  readonly name: string;
  /** Where it was written, when it came from a file. */
  readonly file?: string;
  readonly line?: number;
}

export interface AnalysisMessage {
  /** `IST0101`, `AMB0101`, … */
  readonly code: string;
  /** Istio's message name (`ReferencedResourceNotFound`) or Ambit's. */
  readonly name: string;
  readonly level: AnalysisLevel;
  readonly resource: AnalyzedResource;
  /** The field at fault, e.g. `spec.http[0].route[1].destination.subset`; absent for the whole object. */
  readonly field?: string;
  /** What is wrong, naming the values involved. */
  readonly message: string;
  /** What to do about it. */
  readonly fix: string;
}

/** The catalogue: every code `ambit analyze` can report, with its name and level. */
export const MESSAGE_TYPES = {
  IST0101: { name: 'ReferencedResourceNotFound', level: 'Error' },
  IST0106: { name: 'SchemaValidationError', level: 'Error' },
  IST0109: { name: 'ConflictingMeshGatewayVirtualServiceHosts', level: 'Error' },
  IST0127: { name: 'NoMatchingWorkloadsFound', level: 'Warning' },
  IST0167: { name: 'IneffectivePolicy', level: 'Warning' },
  AMB0001: { name: 'WaypointAttachmentDenied', level: 'Error' },
  AMB0002: { name: 'WaypointTrafficTypeMismatch', level: 'Warning' },
  AMB0003: { name: 'ServiceHostnameShadowed', level: 'Warning' },
  AMB0004: { name: 'VirtualServiceIgnoredForHTTPRoute', level: 'Warning' },
  AMB0005: { name: 'RouteFeatureUnsupported', level: 'Warning' },
  AMB0006: { name: 'DestinationPortNotFound', level: 'Error' },
  AMB0007: { name: 'VirtualServiceWithoutWaypoint', level: 'Info' },
  AMB0101: { name: 'StrictMtlsWorkloadOutsideMesh', level: 'Warning' },
  AMB0102: { name: 'PlaintextClientOfStrictWorkload', level: 'Warning' },
} as const satisfies Record<string, { name: string; level: AnalysisLevel }>;

export type MessageCode = keyof typeof MESSAGE_TYPES;

/** A message of a catalogued type. */
export function message(
  code: MessageCode,
  resource: AnalyzedResource,
  details: { field?: string | undefined; message: string; fix: string },
): AnalysisMessage {
  const { name, level } = MESSAGE_TYPES[code];
  return {
    code,
    name,
    level,
    resource,
    ...(details.field !== undefined && { field: details.field }),
    message: details.message,
    fix: details.fix,
  };
}

/** `Kind ns/name` (or `Kind name` for a cluster-scoped object). */
export function describeResource(r: AnalyzedResource): string {
  return r.namespace === undefined || r.namespace === ''
    ? `${r.kind} ${r.name}`
    : `${r.kind} ${r.namespace}/${r.name}`;
}

/** Whether `level` is at least as severe as `threshold`. */
export function atLeast(level: AnalysisLevel, threshold: AnalysisLevel): boolean {
  return LEVELS.indexOf(level) >= LEVELS.indexOf(threshold);
}
