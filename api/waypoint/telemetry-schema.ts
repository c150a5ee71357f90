import { s } from '../schema/index.js';

/** The runtime check of telemetry.ts's WorkloadTelemetry. */
export const workloadTelemetrySchema = s.object({
  workload: s.string(),
  namespace: s.string(),
  canonicalService: s.string(),
  canonicalRevision: s.string(),
  cluster: s.string(),
});

/** ServiceTelemetry's fields, shared with the gateway's telemetry (api/gateway/schema.ts). */
export const serviceTelemetryFields = {
  accessLogging: s
    .object({ providers: s.array(s.string({ minLength: 1 })), disabled: s.boolean() })
    .optional(),
  tracing: s
    .object({
      providers: s.array(s.string({ minLength: 1 })),
      randomSamplingPercentage: s.number({ minimum: 0, maximum: 100 }).optional(),
      disableSpanReporting: s.boolean(),
    })
    .optional(),
  workloads: s.map(workloadTelemetrySchema),
};

/** The runtime check of telemetry.ts's ServiceTelemetry (schema.ts checks the two agree). */
export const serviceTelemetrySchema = s.object(serviceTelemetryFields);
