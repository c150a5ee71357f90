import type { FinishedSpan, SpanSource } from './span.js';

// Zipkin's v2 JSON span list (`POST /api/v2/spans`): ids as hex, times in microseconds,
// tags as strings.

export function zipkinBody(source: SpanSource, spans: readonly FinishedSpan[]): string {
  return JSON.stringify(
    spans.map((span) => {
      const tags: Record<string, string> = {};
      for (const [key, value] of Object.entries(span.attributes)) tags[key] = String(value);
      if (span.error) tags.error = 'true';
      return {
        traceId: span.traceId,
        id: span.spanId,
        ...(span.parentSpanId === undefined ? {} : { parentId: span.parentSpanId }),
        name: span.name,
        kind: span.kind,
        timestamp: Math.round(span.startMs * 1000),
        duration: Math.max(1, Math.round(span.durationMs * 1000)),
        localEndpoint: { serviceName: source.serviceName },
        tags,
      };
    }),
  );
}
