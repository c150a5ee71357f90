import type http from 'node:http';

// The request headers each Bookinfo service copies onto the calls it makes, so that a trace
// and the signed-in user follow one page through the mesh (Istio's "trace context
// propagation": the mesh cannot link an inbound request to the outbound calls it causes).

/** Trace and context headers both lists share. */
const TRACE_CONTEXT = [
  // Every application should propagate x-request-id: Istio's access logs and trace sampling
  // key on it.
  'x-request-id',
  // B3 (Zipkin), multi-header and single-header forms.
  'x-b3-traceid',
  'x-b3-spanid',
  'x-b3-parentspanid',
  'x-b3-sampled',
  'x-b3-flags',
  'b3',
  // W3C Trace Context.
  'traceparent',
  'tracestate',
  // Lightstep, Datadog, Google Cloud, gRPC binary, SkyWalking.
  'x-ot-span-context',
  'x-datadog-trace-id',
  'x-datadog-parent-id',
  'x-datadog-sampling-priority',
  'x-cloud-trace-context',
  'grpc-trace-bin',
  'sw8',
] as const;

/** Context and session headers both lists share. */
const SESSION_CONTEXT = ['user-agent', 'cookie', 'authorization', 'jwt'] as const;

/**
 * productpage's list (Istio's productpage.py `getForwardHeaders`). It does not copy
 * `end-user`: it sets it itself from its session.
 */
export const PRODUCTPAGE_PROPAGATES: readonly string[] = [...TRACE_CONTEXT, ...SESSION_CONTEXT];

/** reviews' list (Istio's LibertyRestEndpoint.java `headers_to_propagate`). */
export const REVIEWS_PROPAGATES: readonly string[] = [
  ...TRACE_CONTEXT,
  'end-user',
  ...SESSION_CONTEXT,
];

/** The named headers of `incoming` that are present, repeated values joined. */
export function propagatedHeaders(
  incoming: http.IncomingHttpHeaders,
  names: readonly string[],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = incoming[name];
    if (value === undefined) continue;
    out[name] = typeof value === 'string' ? value : value.join(name === 'cookie' ? '; ' : ', ');
  }
  return out;
}
