import { formatFlags } from '../proxy/flags.js';
import type { RequestRecord } from '../proxy/record.js';

const PROTOCOLS = { http1: 'HTTP/1.1', http2: 'HTTP/2' } as const;

/**
 * One request's access log entry with the keys of Istio's JSON access log format (Envoy
 * command operators by their Istio names); what is not known is null, as Envoy's JSON
 * format writes it. `downstream_peer_uri_san` is the caller's identity (mutual TLS at HBONE),
 * `trace_id` the request's trace when it is traced.
 */
export function accessLogEntry(record: Readonly<RequestRecord>): Record<string, unknown> {
  return {
    start_time: new Date(record.startedAt).toISOString(),
    method: record.method,
    path: record.path,
    protocol: PROTOCOLS[record.protocol],
    response_code: record.status,
    response_flags: formatFlags(record.flags),
    bytes_received: record.requestBytes,
    bytes_sent: record.responseBytes,
    duration: Math.round(record.durationMs),
    upstream_service_time: record.upstreamMs === undefined ? null : Math.round(record.upstreamMs),
    x_forwarded_for: record.forwardedFor ?? null,
    user_agent: record.userAgent ?? null,
    request_id: record.requestId,
    authority: record.authority,
    upstream_host: record.endpoint ?? null,
    upstream_cluster: record.cluster ?? null,
    route_name: record.route ?? null,
    downstream_remote_address: record.sourceAddress,
    downstream_peer_uri_san: record.sourceIdentity,
    upstream_peer_uri_san: record.upstream?.identity ?? null,
    destination_service: record.destination.hostname,
    trace_id: record.span?.traceId ?? null,
    attempts: record.attempts,
  };
}
