/**
 * The telemetry part of a WaypointService (config.ts `telemetry`): what Istio's Telemetry
 * API says about the service's requests at its waypoint, and the facts about the workloads
 * behind it that Istio's request metrics label destinations with. Compiled by
 * controlplane/waypoint/telemetry.ts; acted on by waypoint/telemetry/.
 */

/**
 * The most specific Telemetry `accessLogging` entry that applies. Absent: MeshConfig decides
 * (`accessLogFile`, `defaultProviders.accessLogging`).
 */
export interface AccessLoggingSetting {
  /** Provider names; empty: MeshConfig `defaultProviders.accessLogging`. */
  readonly providers: readonly string[];
  readonly disabled: boolean;
}

/** The most specific Telemetry `tracing` entry that applies. Absent: MeshConfig decides. */
export interface TracingSetting {
  /** Provider names; empty: MeshConfig `defaultProviders.tracing`. */
  readonly providers: readonly string[];
  /** Absent: MeshConfig `defaultConfig.tracing.sampling`. */
  readonly randomSamplingPercentage?: number;
  /** Context is still propagated, spans are not sent. */
  readonly disableSpanReporting: boolean;
}

/** What a destination workload is called in Istio's metric labels. */
export interface WorkloadTelemetry {
  readonly workload: string;
  readonly namespace: string;
  /** Istio's canonical service and revision (labels, else the workload name and `latest`). */
  readonly canonicalService: string;
  readonly canonicalRevision: string;
  readonly cluster: string;
}

export interface ServiceTelemetry {
  readonly accessLogging?: AccessLoggingSetting;
  readonly tracing?: TracingSetting;
  /** The workloads behind the service's clusters, by endpoint IP. */
  readonly workloads: Readonly<Record<string, WorkloadTelemetry>>;
}
