import t from 'tap';
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
