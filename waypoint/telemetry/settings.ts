import {
  DEFAULT_MESH_CONFIG,
  type ExtensionProvider,
  type MeshConfig,
} from '../../api/mesh/config.js';
import {
  BUILTIN_ACCESS_LOG_PROVIDER,
  isFileAccessLog,
  meshAccessLogOn,
} from '../../api/mesh/access-log.js';
import type { WaypointService } from '../../api/waypoint/config.js';
import { DEFAULT_PATHS, type CollectorTarget } from '../../core/telemetry/tracing/exporter.js';

/** Tracing as it applies to one service's requests. */
export interface ServiceTracing {
  /** Percent of requests sampled when the caller did not decide. */
  readonly samplingPercent: number;
  /** Where sampled spans go; absent: context is propagated, spans are not sent. */
  readonly collector?: CollectorTarget;
}

interface Resolved {
  readonly accessLog: boolean;
  readonly tracing: ServiceTracing | undefined;
}

/**
 * What a waypoint does for each service's requests — access log on or off, tracing with which
 * sampling and collector — from the service's Telemetry settings (compiled by the control
 * plane) and the MeshConfig in force. Resolved once per service config and MeshConfig, so a
 * request only looks it up; a push of either takes effect on the next request.
 */
export class TelemetrySettings {
  #mesh: MeshConfig = DEFAULT_MESH_CONFIG;
  #resolved = new WeakMap<WaypointService, Resolved>();

  get mesh(): MeshConfig {
    return this.#mesh;
  }

  setMesh(mesh: MeshConfig): void {
    this.#mesh = mesh;
    this.#resolved = new WeakMap();
  }

  accessLog(service: WaypointService): boolean {
    return this.#resolve(service).accessLog;
  }

  tracing(service: WaypointService): ServiceTracing | undefined {
    return this.#resolve(service).tracing;
  }

  /** Every collector some service's tracing names now (to close exporters no longer used). */
  collectors(services: readonly WaypointService[]): CollectorTarget[] {
    return services.flatMap((s) => {
      const collector = this.tracing(s)?.collector;
      return collector === undefined ? [] : [collector];
    });
  }

  #resolve(service: WaypointService): Resolved {
    let resolved = this.#resolved.get(service);
    if (resolved === undefined) {
      resolved = {
        accessLog: accessLogOn(this.#mesh, service),
        tracing: tracingOf(this.#mesh, service),
      };
      this.#resolved.set(service, resolved);
    }
    return resolved;
  }
}

function provider(mesh: MeshConfig, name: string): ExtensionProvider | undefined {
  return mesh.extensionProviders.find((p) => p.name === name);
}

/**
 * Istio's rules: a Telemetry `accessLogging` entry decides when one applies (`disabled`, else
 * its providers, else `defaultProviders.accessLogging`, else the built-in `envoy`); without one,
 * MeshConfig `accessLogFile` or a file provider among `defaultProviders.accessLogging` turns
 * it on. Every file provider writes to the waypoint's stdout (Envoy's /dev/stdout).
 */
function accessLogOn(mesh: MeshConfig, service: WaypointService): boolean {
  const setting = service.telemetry?.accessLogging;
  if (setting === undefined) return meshAccessLogOn(mesh);
  if (setting.disabled) return false;
  const names =
    setting.providers.length > 0
      ? setting.providers
      : mesh.defaultProviders.accessLogging.length > 0
        ? mesh.defaultProviders.accessLogging
        : [BUILTIN_ACCESS_LOG_PROVIDER];
  return names.some((name) => isFileAccessLog(mesh, name));
}

/**
 * A Telemetry `tracing` entry's providers, else `defaultProviders.tracing`: the first that is
 * Zipkin or OpenTelemetry over HTTP is used (OTLP over gRPC is not served). No such provider,
 * or no Telemetry entry while MeshConfig `enableTracing` is false: no tracing, and trace
 * headers pass through untouched, as with an Envoy that has no tracer.
 */
function tracingOf(mesh: MeshConfig, service: WaypointService): ServiceTracing | undefined {
  const setting = service.telemetry?.tracing;
  if (setting === undefined && !mesh.enableTracing) return undefined;
  const names =
    setting !== undefined && setting.providers.length > 0
      ? setting.providers
      : mesh.defaultProviders.tracing;
  let collector: CollectorTarget | undefined;
  for (const name of names) {
    collector = collectorOf(provider(mesh, name));
    if (collector !== undefined) break;
  }
  if (collector === undefined) return undefined;
  const samplingPercent = setting?.randomSamplingPercentage ?? mesh.tracingSampling;
  return setting?.disableSpanReporting === true
    ? { samplingPercent }
    : { samplingPercent, collector };
}

function collectorOf(p: ExtensionProvider | undefined): CollectorTarget | undefined {
  if (p?.zipkin !== undefined)
    return {
      format: 'zipkin',
      host: hostOf(p.zipkin.service),
      port: p.zipkin.port,
      path: p.zipkin.path ?? DEFAULT_PATHS.zipkin,
    };
  const otel = p?.opentelemetry;
  if (otel?.http !== undefined)
    return {
      format: 'otlp',
      host: hostOf(otel.service),
      port: otel.port,
      path: otel.http.path ?? DEFAULT_PATHS.otlp,
    };
  return undefined;
}

/** Istio writes a provider's service as `[<namespace>/]<hostname>`. */
function hostOf(service: string): string {
  return service.slice(service.indexOf('/') + 1);
}
