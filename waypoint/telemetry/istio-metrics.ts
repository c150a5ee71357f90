import { identityParts } from '../../core/identity/spiffe.js';
import { Counter, Histogram, type Registry } from '../../core/telemetry/metrics.js';
import { formatFlags } from '../proxy/flags.js';
import type { RequestRecord } from '../proxy/record.js';

// Istio's standard request metrics as an ambient waypoint reports them (reporter="waypoint"),
// with Istio's label set, so existing dashboards and alerts work unchanged.

const LABELS = [
  'reporter',
  'source_workload',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_canonical_service',
  'source_canonical_revision',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_service_name',
  'destination_service_namespace',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
] as const;

export type RequestLabels = Record<(typeof LABELS)[number], string>;

const UNKNOWN = 'unknown';

/** Envoy's default histogram buckets, which Istio's request metrics use. */
const BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000,
  1800000, 3600000,
];

/**
 * The labels of one request. The destination workload is the endpoint that answered, named
 * from the facts the control plane compiled (telemetry.workloads by IP). The waypoint knows
 * its caller only by tunnel identity and address: namespace and principal come from the
 * identity; the workload, app, version and cluster are `unknown`, as Istio reports what the
 * proxy cannot learn.
 */
export function requestLabels(record: Readonly<RequestRecord>): RequestLabels {
  const service = record.destination;
  const upstream = record.upstream;
  const workload =
    upstream === undefined ? undefined : service.telemetry?.workloads[upstream.address];
  return {
    reporter: 'waypoint',
    source_workload: UNKNOWN,
    // A gateway's client outside the mesh presents no identity.
    source_workload_namespace:
      record.sourceIdentity === undefined
        ? UNKNOWN
        : identityParts(record.sourceIdentity).namespace,
    source_principal: record.sourceIdentity ?? UNKNOWN,
    source_app: UNKNOWN,
    source_version: UNKNOWN,
    source_canonical_service: UNKNOWN,
    source_canonical_revision: UNKNOWN,
    source_cluster: UNKNOWN,
    destination_workload: workload?.workload ?? UNKNOWN,
    destination_workload_namespace: workload?.namespace ?? UNKNOWN,
    destination_principal: upstream?.identity ?? UNKNOWN,
    destination_app: workload?.canonicalService ?? UNKNOWN,
    destination_version: workload?.canonicalRevision ?? UNKNOWN,
    destination_service: service.hostname,
    destination_service_name: service.name,
    destination_service_namespace: service.namespace,
    destination_canonical_service: workload?.canonicalService ?? UNKNOWN,
    destination_canonical_revision: workload?.canonicalRevision ?? UNKNOWN,
    destination_cluster: workload?.cluster ?? UNKNOWN,
    request_protocol: record.grpcStatus === undefined ? 'http' : 'grpc',
    response_code: String(record.status),
    grpc_response_status: record.grpcStatus ?? '',
    response_flags: formatFlags(record.flags),
    // Every request reaches a waypoint through an HBONE tunnel: mutual TLS.
    connection_security_policy: 'mutual_tls',
  };
}

export class RequestMetrics {
  readonly #requests: Counter<string>;
  readonly #duration: Histogram<string>;
  readonly #requestBytes: Histogram<string>;
  readonly #responseBytes: Histogram<string>;

  constructor(registry: Registry) {
    const labelNames = [...LABELS];
    const registers = [registry];
    this.#requests = new Counter({
      name: 'istio_requests_total',
      help: 'Requests handled by an Istio proxy',
      labelNames,
      registers,
    });
    this.#duration = new Histogram({
      name: 'istio_request_duration_milliseconds',
      help: 'Duration of requests, ms',
      labelNames,
      buckets: BUCKETS,
      registers,
    });
    this.#requestBytes = new Histogram({
      name: 'istio_request_bytes',
      help: 'HTTP request body sizes',
      labelNames,
      buckets: BUCKETS,
      registers,
    });
    this.#responseBytes = new Histogram({
      name: 'istio_response_bytes',
      help: 'HTTP response body sizes',
      labelNames,
      buckets: BUCKETS,
      registers,
    });
  }

  requestDone(record: Readonly<RequestRecord>): void {
    const labels = requestLabels(record);
    this.#requests.inc(labels);
    this.#duration.observe(labels, record.durationMs);
    this.#requestBytes.observe(labels, record.requestBytes);
    this.#responseBytes.observe(labels, record.responseBytes);
  }
}
