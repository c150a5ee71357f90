import type { WaypointService } from '../../api/waypoint/config.js';
import type { HeaderValues } from '../../core/telemetry/tracing/context.js';
import type { FinishedSpan } from '../../core/telemetry/tracing/span.js';
import type { ActiveSpan, Tracer } from '../../core/telemetry/tracing/tracer.js';
import { formatFlags } from '../proxy/flags.js';
import type { RequestRecord } from '../proxy/record.js';
import type { TelemetrySettings } from './settings.js';

/** What the request pipeline asks of tracing: a span for a request, if its service is traced. */
export interface RequestTracing {
  start(service: WaypointService, headers: HeaderValues): ActiveSpan | undefined;
}

/** Who the waypoint is, in its spans' tags. */
export interface SpanNode {
  /** The xDS node id, Envoy's `node_id` tag. */
  readonly id: string;
  readonly name: string;
  readonly namespace: string;
}

/**
 * The waypoint's tracing: per request a SERVER span, child of the caller's span, whose
 * context goes upstream (handler.ts); sampled spans are reported when the request is done.
 * Nothing is made for a service that is not traced.
 */
export class WaypointTracing implements RequestTracing {
  readonly #settings: TelemetrySettings;
  readonly #tracer: Tracer;
  readonly #node: SpanNode;

  constructor(settings: TelemetrySettings, tracer: Tracer, node: SpanNode) {
    this.#settings = settings;
    this.#tracer = tracer;
    this.#node = node;
  }

  start(service: WaypointService, headers: HeaderValues): ActiveSpan | undefined {
    const tracing = this.#settings.tracing(service);
    return tracing === undefined ? undefined : this.#tracer.start(headers, tracing.samplingPercent);
  }

  /** Reports the request's span if it was sampled and its service's spans go somewhere. */
  finish(record: Readonly<RequestRecord>): void {
    const { span } = record;
    if (span === undefined || !span.sampled) return;
    const collector = this.#settings.tracing(record.destination)?.collector;
    if (collector === undefined) return;
    this.#tracer.report(collector, finishedSpan(record, span, this.#node));
  }
}

const PROTOCOLS = { http1: 'HTTP/1.1', http2: 'HTTP/2' } as const;

/** The span with Envoy's and Istio's tags (the names Jaeger and Zipkin users search by). */
export function finishedSpan(
  record: Readonly<RequestRecord>,
  span: ActiveSpan,
  node: SpanNode,
): FinishedSpan {
  const service = record.destination;
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    ...(span.parentSpanId === undefined ? {} : { parentSpanId: span.parentSpanId }),
    // Envoy's default operation name: the authority's host and port, any path.
    name: `${service.hostname}:${record.port}/*`,
    kind: 'SERVER',
    startMs: span.startMs,
    durationMs: record.durationMs,
    attributes: {
      component: 'proxy',
      node_id: node.id,
      'istio.canonical_service': node.name,
      'istio.namespace': node.namespace,
      'guid:x-request-id': record.requestId,
      'http.method': record.method,
      'http.url': `http://${record.authority}${record.path}`,
      'http.protocol': PROTOCOLS[record.protocol],
      'http.status_code': String(record.status),
      response_flags: formatFlags(record.flags),
      request_size: String(record.requestBytes),
      response_size: String(record.responseBytes),
      upstream_cluster: record.cluster ?? '-',
      'upstream_cluster.name': record.cluster ?? '-',
      ...(record.endpoint === undefined ? {} : { upstream_address: record.endpoint }),
      'peer.address': record.sourceAddress,
      ...(record.userAgent === undefined ? {} : { user_agent: record.userAgent }),
    },
    error: record.status === 0 || record.status >= 500,
  };
}
