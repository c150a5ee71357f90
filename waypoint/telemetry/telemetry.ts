import type { MeshConfig } from '../../api/mesh/config.js';
import type { WaypointService } from '../../api/waypoint/config.js';
import { AccessLog } from '../../core/telemetry/access-log.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { Registry } from '../../core/telemetry/metrics.js';
import type { ExporterLimits } from '../../core/telemetry/tracing/exporter.js';
import { Tracer } from '../../core/telemetry/tracing/tracer.js';
import type { RequestRecord } from '../proxy/record.js';
import { accessLogEntry } from './access-log.js';
import { RequestMetrics, type Reporter } from './istio-metrics.js';
import { TelemetrySettings } from './settings.js';
import { WaypointTracing, type SpanNode } from './tracing.js';

/**
 * Everything the waypoint (or the gateway) reports about requests: Istio's request metrics, the access log and
 * spans, switched per service by Telemetry settings and MeshConfig (settings.ts). Fed each
 * finished request's record; `tracing` starts spans for the request pipeline.
 */
export class WaypointTelemetry {
  readonly settings = new TelemetrySettings();
  readonly tracing: WaypointTracing;
  readonly #metrics: RequestMetrics;
  readonly #accessLog: AccessLog;
  readonly #tracer: Tracer;

  constructor(options: {
    node: SpanNode;
    registry: Registry;
    logger: Logger;
    accessLog?: AccessLog;
    exporterLimits?: Partial<ExporterLimits>;
    /** Absent: a waypoint. */
    reporter?: Reporter;
  }) {
    const { node } = options;
    this.#metrics = new RequestMetrics(options.registry, options.reporter);
    this.#accessLog = options.accessLog ?? new AccessLog();
    this.#tracer = new Tracer({
      // Istio names a proxy's spans' service `<canonical service>.<namespace>`.
      source: { serviceName: `${node.name}.${node.namespace}` },
      registry: options.registry,
      logger: options.logger,
      ...(options.exporterLimits === undefined ? {} : { limits: options.exporterLimits }),
    });
    this.tracing = new WaypointTracing(this.settings, this.#tracer, node);
  }

  /** A new MeshConfig, or new services: exporters of collectors no longer named are closed. */
  configure(mesh: MeshConfig | undefined, services: readonly WaypointService[]): void {
    if (mesh !== undefined) this.settings.setMesh(mesh);
    this.#tracer.retain(this.settings.collectors(services));
  }

  requestDone(record: Readonly<RequestRecord>): void {
    this.#metrics.requestDone(record);
    if (this.settings.accessLog(record.destination)) this.#accessLog.write(accessLogEntry(record));
    this.tracing.finish(record);
  }

  /** Sends what spans are queued (bounded by the export timeout) and flushes the log. */
  async close(): Promise<void> {
    await this.#tracer.close();
    this.#accessLog.flush();
  }
}
