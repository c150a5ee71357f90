/** One finished span, as the exporters encode it. */
export interface FinishedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: 'SERVER' | 'CLIENT';
  /** Wall clock, ms since the epoch (fractional). */
  readonly startMs: number;
  readonly durationMs: number;
  /** Istio's and Envoy's span tags (`http.method`, `upstream_cluster`, …). */
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  /** The request failed (a 5xx, or no response): OTLP status ERROR, Zipkin `error` tag. */
  readonly error: boolean;
}

/** Who reports spans: the resource every span of a program shares. */
export interface SpanSource {
  /** Istio's `service.name` for a proxy: `<canonical service>.<namespace>`. */
  readonly serviceName: string;
}

/** Unix nanoseconds as OTLP's JSON wants them: a decimal string (they exceed 2^53). */
export function unixNanos(ms: number): string {
  const whole = Math.floor(ms);
  const nanos = Math.round((ms - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(nanos)).toString();
}
