import t from 'tap';
import type { WorkloadTelemetry } from '../../api/waypoint/telemetry.js';
import { identityOf, type TrustDomain } from '../../core/identity/spiffe.js';
import { createRegistry } from '../../core/telemetry/metrics.js';
import { cluster, ENDPOINT_IDENTITY, endpoint, route, service } from '../proxy/testing/harness.js';
import { requestRecord } from '../proxy/testing/record.js';
import { RequestMetrics, requestLabels } from './istio-metrics.js';

const upstream = { ...endpoint(8080, '10.1.0.5'), identity: ENDPOINT_IDENTITY };
const c = cluster([upstream]);
const destination = service([c], [route([c])], {
  telemetry: {
    workloads: {
      '10.1.0.5': {
        workload: 'echo-v1',
        namespace: 'demo',
        canonicalService: 'echo',
        canonicalRevision: 'v1',
        cluster: 'Kubernetes',
      },
    },
  },
});

t.test("a forwarded request is labelled with Istio's waypoint labels", async (t) => {
  const labels = requestLabels(
    requestRecord({ destination, upstream, cluster: c.name, status: 201 }),
  );
  t.strictSame(labels, {
    reporter: 'waypoint',
    source_workload: 'unknown',
    source_workload_namespace: 'demo',
    source_principal: 'spiffe://cluster.local/ns/demo/sa/client',
    source_app: 'unknown',
    source_version: 'unknown',
    source_canonical_service: 'unknown',
    source_canonical_revision: 'unknown',
    source_cluster: 'unknown',
    destination_workload: 'echo-v1',
    destination_workload_namespace: 'demo',
    destination_principal: ENDPOINT_IDENTITY,
    destination_app: 'echo',
    destination_version: 'v1',
    destination_service: 'echo.demo.svc.cluster.local',
    destination_service_name: 'echo',
    destination_service_namespace: 'demo',
    destination_canonical_service: 'echo',
    destination_canonical_revision: 'v1',
    destination_cluster: 'Kubernetes',
    request_protocol: 'http',
    response_code: '201',
    grpc_response_status: '',
    response_flags: '-',
    connection_security_policy: 'mutual_tls',
  });
});

t.test('a local reply has no destination workload; flags are comma-joined', async (t) => {
  const labels = requestLabels(
    requestRecord({ destination, status: 503, flags: ['UF', 'URX'], grpcStatus: '14' }),
  );
  t.match(labels, {
    destination_workload: 'unknown',
    destination_principal: 'unknown',
    destination_service: 'echo.demo.svc.cluster.local',
    response_code: '503',
    response_flags: 'UF,URX',
    request_protocol: 'grpc',
    grpc_response_status: '14',
  });
});

t.test('every request is counted and its duration and sizes observed', async (t) => {
  const registry = createRegistry();
  const metrics = new RequestMetrics(registry);
  metrics.requestDone(requestRecord({ destination, status: 404, flags: ['NR'], durationMs: 3 }));
  metrics.requestDone(
    requestRecord({
      destination,
      status: 200,
      durationMs: 7,
      requestBytes: 10,
      responseBytes: 2000,
    }),
  );
  const text = await registry.metrics();
  t.match(text, /istio_requests_total\{[^}]*response_code="404"[^}]*response_flags="NR"[^}]*\} 1/);
  t.match(
    text,
    /istio_request_duration_milliseconds_bucket\{le="5",[^}]*response_code="404"[^}]*\} 1/,
  );
  t.match(text, /istio_response_bytes_sum\{[^}]*response_code="200"[^}]*\} 2000/);
  t.match(text, /istio_request_bytes_sum\{[^}]*response_code="200"[^}]*\} 10/);
});

t.test('a gateway reports as the source, with its own names and the routed service', async (t) => {
  const gatewayIdentity = identityOf({
    trustDomain: 'cluster.local' as TrustDomain,
    namespace: 'istio-system',
    serviceAccount: 'istio-ingressgateway',
  });
  let own: WorkloadTelemetry | undefined = undefined;
  const reporter = { kind: 'gateway' as const, identity: gatewayIdentity, workload: () => own };
  // The gateway's record names its virtual host; a client outside the mesh has no identity.
  const virtualHost = { ...destination, hostname: 'echo.example.com', name: 'ingress-0' };
  const record = requestRecord({
    destination: virtualHost,
    sourceIdentity: undefined,
    upstream,
    cluster: c.name,
  });
  t.match(requestLabels(record, reporter), {
    reporter: 'source',
    source_workload: 'unknown',
    source_workload_namespace: 'istio-system',
    source_principal: gatewayIdentity,
  });
  own = {
    workload: 'istio-ingressgateway',
    namespace: 'istio-system',
    canonicalService: 'istio-ingressgateway',
    canonicalRevision: 'latest',
    cluster: 'Kubernetes',
  };
  t.match(requestLabels(record, reporter), {
    reporter: 'source',
    source_workload: 'istio-ingressgateway',
    source_workload_namespace: 'istio-system',
    source_principal: gatewayIdentity,
    source_app: 'istio-ingressgateway',
    source_version: 'latest',
    source_canonical_service: 'istio-ingressgateway',
    source_canonical_revision: 'latest',
    source_cluster: 'Kubernetes',
    destination_workload: 'echo-v1',
    destination_principal: ENDPOINT_IDENTITY,
    destination_service: c.host,
    destination_service_name: 'echo',
    destination_service_namespace: 'demo',
    connection_security_policy: 'unknown',
  });
  t.match(
    requestLabels({ ...record, cluster: 'outbound|443||api.example.org' }, reporter),
    {
      destination_service: 'api.example.org',
      destination_service_name: 'api.example.org',
      destination_service_namespace: 'unknown',
    },
    'a host that is not a Kubernetes service names itself',
  );
  t.match(
    requestLabels({ ...record, cluster: undefined, upstream: undefined, status: 404 }, reporter),
    { destination_service: 'unknown', destination_workload: 'unknown', response_code: '404' },
    'an unrouted request has no destination',
  );
});

t.test('a waypoint names its caller by the workload at the tunnel source address', async (t) => {
  const client: WorkloadTelemetry = {
    workload: 'sleep',
    namespace: 'demo',
    canonicalService: 'sleep',
    canonicalRevision: 'v2',
    cluster: 'Kubernetes',
  };
  const record = requestRecord({ destination, upstream, cluster: c.name, status: 200 });
  const seen: string[] = [];
  const labels = requestLabels(record, {
    kind: 'waypoint',
    sources: (ip) => {
      seen.push(ip);
      return ip === record.sourceAddress ? client : undefined;
    },
  });
  t.same(seen, [record.sourceAddress], 'looked up by the source address');
  t.match(labels, {
    source_workload: 'sleep',
    source_workload_namespace: 'demo',
    source_app: 'sleep',
    source_version: 'v2',
    source_canonical_service: 'sleep',
    source_canonical_revision: 'v2',
    source_cluster: 'Kubernetes',
    source_principal: 'spiffe://cluster.local/ns/demo/sa/client',
  });
  const unknown = requestLabels(record, { kind: 'waypoint', sources: () => undefined });
  t.equal(unknown.source_workload, 'unknown', 'an address the mesh does not know');
});
