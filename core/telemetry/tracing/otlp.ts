import type { FinishedSpan, SpanSource } from './span.js';
import { unixNanos } from './span.js';

// OTLP/HTTP with JSON encoding (opentelemetry-proto, ExportTraceServiceRequest): ids as
// hex strings, times as decimal strings, enums as integers.

/** SpanKind: SPAN_KIND_SERVER = 2, SPAN_KIND_CLIENT = 3. */
const KIND = { SERVER: 2, CLIENT: 3 } as const;
/** Status.code: STATUS_CODE_UNSET = 0, STATUS_CODE_ERROR = 2. */
const STATUS_ERROR = 2;

type AnyValue = { stringValue: string } | { intValue: string } | { boolValue: boolean };

function anyValue(value: string | number | boolean): AnyValue {
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number' && Number.isInteger(value)) return { intValue: String(value) };
  return { stringValue: String(value) };
}

/** The body of `POST /v1/traces`. */
export function otlpBody(source: SpanSource, spans: readonly FinishedSpan[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: {
          attributes: [{ key: 'service.name', value: { stringValue: source.serviceName } }],
        },
        scopeSpans: [
          {
            scope: { name: 'ambit' },
            spans: spans.map((span) => ({
              traceId: span.traceId,
              spanId: span.spanId,
              ...(span.parentSpanId === undefined ? {} : { parentSpanId: span.parentSpanId }),
              name: span.name,
              kind: KIND[span.kind],
              startTimeUnixNano: unixNanos(span.startMs),
              endTimeUnixNano: unixNanos(span.startMs + span.durationMs),
              attributes: Object.entries(span.attributes).map(([key, value]) => ({
                key,
                value: anyValue(value),
              })),
              status: span.error ? { code: STATUS_ERROR } : {},
            })),
          },
        ],
      },
    ],
  });
}
