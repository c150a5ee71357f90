import type { WorkloadTelemetry } from '../../api/waypoint/telemetry.js';
import { identityParts, type Identity } from '../../core/identity/spiffe.js';
import { Counter, Histogram, type Registry } from '../../core/telemetry/metrics.js';
import { formatFlags } from '../proxy/flags.js';
import type { RequestRecord } from '../proxy/record.js';

// Istio's standard request metrics as an ambient waypoint reports them (reporter="waypoint"),
// or an ingress gateway (reporter="source"), with Istio's label set, so existing dashboards
// and alerts work unchanged.

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
 * Who reports. A waypoint knows its caller only by tunnel identity and address. An ingress
 * gateway is the source of what it forwards (Istio's gateways report `reporter="source"`):
 * the source labels are its own, its client outside the mesh is not named at all.
 */
export type Reporter =
  | {
      readonly kind: 'waypoint';
      /** The mesh's workload at a caller's address (from the workload API), if known. */
      readonly sources?: (ip: string) => WorkloadTelemetry | undefined;
    }
  | {
      readonly kind: 'gateway';
      readonly identity: Identity;
      /** The gateway's own workload names, as the control plane last sent them. */
      readonly workload: () => WorkloadTelemetry | undefined;
    };

const WAYPOINT: Reporter = { kind: 'waypoint' };

/** A Kubernetes service's host, `name.namespace.svc.<domain>`; other hosts are their own name. */
const KUBERNETES_HOST = /^([^.]+)\.([^.]+)\.svc\./;

/**
 * The labels of one request. The destination workload is the endpoint that answered, named
 * from the facts the control plane compiled (telemetry.workloads by IP). At a waypoint the
 * caller is the workload at the tunnel's source address, from the workload API; its
 * principal is the tunnel's identity; what the proxy cannot learn is `unknown`, as in Istio. At a gateway the
 * destination service is the routed cluster's host (the record's service is the virtual host).
 */
export function requestLabels(
  record: Readonly<RequestRecord>,
  reporter: Reporter = WAYPOINT,
): RequestLabels {
  const service = record.destination;
  const upstream = record.upstream;
  const workload =
    upstream === undefined ? undefined : service.telemetry?.workloads[upstream.address];
  return {
    ...(reporter.kind === 'waypoint'
      ? callerLabels(record, reporter.sources?.(record.sourceAddress))
      : gatewayLabels(reporter)),
    destination_workload: workload?.workload ?? UNKNOWN,
    destination_workload_namespace: workload?.namespace ?? UNKNOWN,
    destination_principal: upstream?.identity ?? UNKNOWN,
    destination_app: workload?.canonicalService ?? UNKNOWN,
    destination_version: workload?.canonicalRevision ?? UNKNOWN,
    ...(reporter.kind === 'waypoint'
      ? {
          destination_service: service.hostname,
          destination_service_name: service.name,
          destination_service_namespace: service.namespace,
        }
      : clusterService(record.cluster)),
    destination_canonical_service: workload?.canonicalService ?? UNKNOWN,
    destination_canonical_revision: workload?.canonicalRevision ?? UNKNOWN,
    destination_cluster: workload?.cluster ?? UNKNOWN,
    request_protocol: record.grpcStatus === undefined ? 'http' : 'grpc',
    response_code: String(record.status),
    grpc_response_status: record.grpcStatus ?? '',
    response_flags: formatFlags(record.flags),
    // Every request reaches a waypoint through an HBONE tunnel: mutual TLS. A source reporter
    // does not know what its peer's proxy enforces: Istio reports `unknown`.
    connection_security_policy: reporter.kind === 'waypoint' ? 'mutual_tls' : UNKNOWN,
  };
}

type SourceLabels = Pick<
  RequestLabels,
  | 'reporter'
  | 'source_workload'
  | 'source_workload_namespace'
  | 'source_principal'
  | 'source_app'
  | 'source_version'
  | 'source_canonical_service'
  | 'source_canonical_revision'
  | 'source_cluster'
>;

/** The caller: named by the workload at its address when the mesh knows it, else by its identity. */
function callerLabels(
  record: Readonly<RequestRecord>,
  source: WorkloadTelemetry | undefined,
): SourceLabels {
  return {
    reporter: 'waypoint',
    source_workload: source?.workload ?? UNKNOWN,
    source_workload_namespace:
      source?.namespace ??
      (record.sourceIdentity === undefined
        ? UNKNOWN
        : identityParts(record.sourceIdentity).namespace),
    source_principal: record.sourceIdentity ?? UNKNOWN,
    source_app: source?.canonicalService ?? UNKNOWN,
    source_version: source?.canonicalRevision ?? UNKNOWN,
    source_canonical_service: source?.canonicalService ?? UNKNOWN,
    source_canonical_revision: source?.canonicalRevision ?? UNKNOWN,
    source_cluster: source?.cluster ?? UNKNOWN,
  };
}

function gatewayLabels(reporter: Extract<Reporter, { kind: 'gateway' }>): SourceLabels {
  const self = reporter.workload();
  return {
    reporter: 'source',
    source_workload: self?.workload ?? UNKNOWN,
    source_workload_namespace: self?.namespace ?? identityParts(reporter.identity).namespace,
    source_principal: reporter.identity,
    source_app: self?.canonicalService ?? UNKNOWN,
    source_version: self?.canonicalRevision ?? UNKNOWN,
    source_canonical_service: self?.canonicalService ?? UNKNOWN,
    source_canonical_revision: self?.canonicalRevision ?? UNKNOWN,
    source_cluster: self?.cluster ?? UNKNOWN,
  };
}

/** The service of a cluster name `outbound|port|subset|host`; none routed: unknown. */
function clusterService(
  cluster: string | undefined,
): Pick<
  RequestLabels,
  'destination_service' | 'destination_service_name' | 'destination_service_namespace'
> {
  const host = cluster?.slice(cluster.lastIndexOf('|') + 1);
  if (host === undefined || host === '')
    return {
      destination_service: UNKNOWN,
      destination_service_name: UNKNOWN,
      destination_service_namespace: UNKNOWN,
    };
  const kubernetes = KUBERNETES_HOST.exec(host);
  return {
    destination_service: host,
    destination_service_name: kubernetes?.[1] ?? host,
    destination_service_namespace: kubernetes?.[2] ?? UNKNOWN,
  };
}

export class RequestMetrics {
  readonly #requests: Counter<string>;
  readonly #duration: Histogram<string>;
  readonly #requestBytes: Histogram<string>;
  readonly #responseBytes: Histogram<string>;

  readonly #reporter: Reporter;

  constructor(registry: Registry, reporter: Reporter = WAYPOINT) {
    this.#reporter = reporter;
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
    const labels = requestLabels(record, this.#reporter);
    this.#requests.inc(labels);
    this.#duration.observe(labels, record.durationMs);
    this.#requestBytes.observe(labels, record.requestBytes);
    this.#responseBytes.observe(labels, record.responseBytes);
  }
}
