/**
 * Telemetry (telemetry.istio.io v1, v1alpha1): istio/api telemetry.proto in its JSON form.
 * Ambit acts on `accessLogging` and `tracing` at waypoints (what applies is compiled into
 * each WaypointService, controlplane/waypoint/telemetry.ts); `metrics` is accepted so existing
 * resources load, and not acted on.
 */
import { s } from '../schema/index.js';
import type { Infer } from '../schema/index.js';
import {
  policyTargetReference,
  policyTargetReferences,
  workloadSelector,
} from './security-targets.js';
import type { ResourceDefinition } from './types.js';

const loose = { unknownFields: 'ignore' } as const;

/** Which side of a proxy's traffic a setting applies to; a waypoint is a server. */
export const WORKLOAD_MODES = ['CLIENT_AND_SERVER', 'CLIENT', 'SERVER'] as const;
export type WorkloadMode = (typeof WORKLOAD_MODES)[number];

const providerRef = s.object({ name: s.string({ minLength: 1 }) });
const modeSelector = s.object({ mode: s.enumOf(...WORKLOAD_MODES).optional() });

const customTag = s.object(
  {
    literal: s.object({ value: s.string() }).optional(),
    environment: s.object({ name: s.string(), defaultValue: s.string().optional() }).optional(),
    header: s.object({ name: s.string(), defaultValue: s.string().optional() }).optional(),
  },
  loose,
);

const tracing = s.object(
  {
    match: modeSelector.optional(),
    providers: s.array(providerRef).optional(),
    randomSamplingPercentage: s.number({ minimum: 0, maximum: 100 }).optional(),
    disableSpanReporting: s.boolean().optional(),
    customTags: s.map(customTag).optional(),
    useRequestIdForTraceSampling: s.boolean().optional(),
  },
  loose,
);

const accessLogging = s.object(
  {
    match: modeSelector.optional(),
    providers: s.array(providerRef).optional(),
    disabled: s.boolean().optional(),
    filter: s.object({ expression: s.string() }).optional(),
  },
  loose,
);

export const telemetrySpec = s
  .object({
    selector: workloadSelector.optional(),
    targetRef: policyTargetReference.optional(),
    targetRefs: policyTargetReferences.optional(),
    tracing: s.array(tracing).optional(),
    accessLogging: s.array(accessLogging).optional(),
    /** Accepted, not acted on: Ambit's metrics are Istio's standard set, always on. */
    metrics: s.array(s.object({}, loose)).optional(),
  })
  .oneOf(['selector', 'targetRef', 'targetRefs']);

export type TelemetrySpec = Infer<typeof telemetrySpec>;
export type TelemetryTracing = Infer<typeof tracing>;
export type TelemetryAccessLogging = Infer<typeof accessLogging>;

export const definitions: ResourceDefinition[] = [
  {
    type: 'Telemetry',
    group: 'telemetry.istio.io',
    kind: 'Telemetry',
    versions: ['v1', 'v1alpha1'],
    plural: 'telemetries',
    namespaced: true,
    spec: telemetrySpec,
    shortNames: ['telemetry'],
    categories: ['istio-io', 'telemetry-istio-io'],
  },
];
