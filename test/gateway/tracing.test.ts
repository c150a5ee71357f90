import { createInterface } from 'node:readline';
import t from 'tap';
import { stringify } from 'yaml';
import { spanTag, startCollector, type OtlpSpan } from '../support/collector.js';
import { addGateway, gatewayToken } from '../support/gateway.js';
import { startMesh } from '../support/mesh.js';
import { httpGetIn } from '../support/netns.js';
import {
  addWaypoint,
  askEcho,
  scrapeWaypoint,
  serveEcho,
  useWaypoint,
  waitWaypointBound,
  waypointToken,
} from '../support/waypoint.js';
import { metricSum, waitEnrolled, waitUntil } from '../support/ztunnel.js';

// One request's trace across the mesh, as issue 5 asks: a client outside the mesh sends a
// request without trace headers to the ingress gateway, which sends it (the Service is
// labelled istio.io/ingress-use-waypoint) to the namespace waypoint, which sends it to the
// echo pod. Both proxies report spans over OTLP/HTTP to a collector on the cluster bridge and
// count the request in istio_requests_total; the gateway writes its access log. Then
// MeshConfig pathNormalization, switched live: BASE lets `//admin` past a DENY on `/admin`.

const NAMESPACE = 'traced';
const HOST = 'echo.example.com';
const PORT = 8000;
const TARGET_PORT = 8080;
const REQUESTS = 'istio_requests_total';
const GATEWAY_METRICS = 'http://127.0.0.1:15020/metrics';

const doc = (...objects: object[]) => objects.map((o) => stringify(o)).join('---\n');

t.test('a trace across ingress gateway, waypoint and service', async (t) => {
  const mesh = await startMesh(t, {
    nodes: 1,
    extraTokens: [gatewayToken(), waypointToken(NAMESPACE)],
  });
  await mesh.addNamespace('istio-system');
  await mesh.addNamespace('outside');
  await mesh.addNamespace(NAMESPACE, { 'istio.io/dataplane-mode': 'ambient' });
  const echoPod = await mesh.addPod({
    node: 'node-1',
    namespace: NAMESPACE,
    name: 'echo-0',
    labels: { app: 'echo' },
    serviceAccount: 'echo',
    ports: [TARGET_PORT],
  });
  const echo = await mesh.addService({
    namespace: NAMESPACE,
    name: 'echo',
    selector: { app: 'echo' },
    ports: [{ name: 'http', port: PORT, targetPort: TARGET_PORT }],
    labels: { 'istio.io/ingress-use-waypoint': 'true' },
  });
  const client = await mesh.addPod({ node: 'node-1', namespace: 'outside', name: 'curl' });
  await serveEcho(t, echoPod, { port: TARGET_PORT, version: 'v1' });
  const collector = await startCollector(t, mesh.cluster.bridgeIp);
  const meshConfig = (pathNormalization?: string) =>
    stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'istio', namespace: 'istio-system' },
      data: {
        mesh: stringify({
          accessLogFile: '/dev/stdout',
          extensionProviders: [
            {
              name: 'otel',
              opentelemetry: {
                service: mesh.cluster.bridgeIp,
                port: collector.port,
                http: { path: '/v1/traces' },
              },
            },
          ],
          defaultProviders: { tracing: ['otel'] },
          defaultConfig: { tracing: { sampling: 100 } },
          ...(pathNormalization === undefined
            ? {}
            : { pathNormalization: { normalization: pathNormalization } }),
        }),
      },
    });
  await mesh.apply('mesh-config.yaml', meshConfig());
  await mesh.apply(
    'echo-gateway.yaml',
    doc(
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'Gateway',
        metadata: { name: 'echo-gateway', namespace: NAMESPACE },
        spec: {
          selector: { istio: 'ingressgateway' },
          servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [HOST] }],
        },
      },
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'echo', namespace: NAMESPACE },
        spec: {
          hosts: [HOST],
          gateways: ['echo-gateway'],
          http: [{ route: [{ destination: { host: 'echo', port: { number: PORT } } }] }],
        },
      },
    ),
  );
  const waypoint = await addWaypoint(mesh, { namespace: NAMESPACE, node: 'node-1' });
  await useWaypoint(mesh, NAMESPACE, waypoint.name);
  await mesh.waitReady();
  await waitEnrolled(mesh, [echoPod], [echo.hostname]);
  await waitWaypointBound(mesh, echo, waypoint);
  const gateway = await addGateway(mesh, { node: 'node-1' });

  // The gateway's stdout: its access log lines (its own logs go to stderr).
  const accessLines: Record<string, unknown>[] = [];
  createInterface({ input: gateway.process.child.stdout! }).on('line', (line) => {
    accessLines.push(JSON.parse(line) as Record<string, unknown>);
  });
  let sequence = 0;
  const requestId = () => `trace-${process.pid}-${++sequence}`;
  const ask = (path: string, headers: Record<string, string> = {}) =>
    askEcho(
      client,
      { address: gateway.pod.ip, port: 80 },
      { path, headers: { host: HOST, ...headers } },
    );
  const atGateway = async (labels: Record<string, string>) => {
    const reply = await httpGetIn(gateway.pod.netnsPath, GATEWAY_METRICS, 2000);
    return metricSum(reply.body, REQUESTS, labels);
  };
  const atWaypoint = async (labels: Record<string, string>) =>
    metricSum(await scrapeWaypoint(waypoint), REQUESTS, labels);
  const toEcho = { destination_service: echo.hostname, response_code: '200' };

  await waitUntil(
    'requests through the gateway pass the waypoint',
    async () => (await ask('/ready')).status === 200 && (await atWaypoint(toEcho)) > 0,
    20_000,
  );

  t.test(
    'the gateway span is the root, the waypoint span its child, the pod sees it',
    async (t) => {
      const before = {
        gateway: await atGateway({ reporter: 'source', ...toEcho }),
        waypoint: await atWaypoint({ reporter: 'waypoint', ...toEcho }),
      };
      const id = requestId();
      const reply = await ask('/traced', { 'x-request-id': id });
      t.equal(reply.status, 200);
      t.equal(reply.reply?.headers['x-request-id'], id, 'the request id reaches the service');
      const traceparent = String(reply.reply?.headers.traceparent);
      const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(traceparent);
      t.ok(match, `the service received a sampled traceparent: ${traceparent}`);
      const [, traceId, parentOfService] = match ?? [];

      const span = (spanId: string | undefined): OtlpSpan | undefined =>
        collector.spans.find((s) => s.spanId === spanId);
      await waitUntil(
        'both spans at the collector',
        async () => span(span(parentOfService)?.parentSpanId) !== undefined,
        10_000,
      );
      const waypointSpan = span(parentOfService)!;
      const gatewaySpan = span(waypointSpan.parentSpanId)!;
      t.equal(spanTag(waypointSpan, 'node_id'), `waypoint~${waypoint.name}.${NAMESPACE}`);
      t.equal(waypointSpan.traceId, traceId, 'the waypoint span is in the trace');
      t.equal(spanTag(waypointSpan, 'guid:x-request-id'), id);
      t.equal(
        spanTag(gatewaySpan, 'node_id'),
        `router~${gateway.name}.${gateway.namespace}`,
        "the waypoint span's parent is the gateway's",
      );
      t.equal(gatewaySpan.traceId, traceId);
      t.equal(gatewaySpan.parentSpanId || undefined, undefined, 'the gateway span is the root');
      t.equal(gatewaySpan.kind, 2, 'SERVER');
      t.equal(spanTag(gatewaySpan, 'http.status_code'), '200');
      t.equal(spanTag(gatewaySpan, 'upstream_cluster'), `outbound|${PORT}||${echo.hostname}`);

      await waitUntil(
        'both proxies counted the request',
        async () =>
          (await atGateway({ reporter: 'source', ...toEcho })) === before.gateway + 1 &&
          (await atWaypoint({ reporter: 'waypoint', ...toEcho })) === before.waypoint + 1,
      );
      t.equal(
        await atGateway({
          reporter: 'source',
          source_workload_namespace: gateway.namespace,
          source_principal: gateway.identity,
          destination_service_name: 'echo',
          destination_service_namespace: NAMESPACE,
          ...toEcho,
        }),
        before.gateway + 1,
        'the gateway reports as the source, with its own identity',
      );
      t.equal(
        await atWaypoint({ reporter: 'waypoint', source_principal: gateway.identity, ...toEcho }),
        before.waypoint + 1,
        "the waypoint's caller is the gateway",
      );
      await waitUntil('the access log line', async () =>
        accessLines.some((l) => l.request_id === id),
      );
      t.match(
        accessLines.find((l) => l.request_id === id),
        {
          method: 'GET',
          path: '/traced',
          response_code: 200,
          authority: HOST,
          upstream_cluster: `outbound|${PORT}||${echo.hostname}`,
          trace_id: traceId,
        },
      );
    },
  );

  t.test('MeshConfig pathNormalization is followed by the gateway and the waypoint', async (t) => {
    await mesh.apply(
      'no-admin.yaml',
      stringify({
        apiVersion: 'security.istio.io/v1',
        kind: 'AuthorizationPolicy',
        metadata: { name: 'no-admin', namespace: NAMESPACE },
        spec: {
          targetRefs: [{ kind: 'Service', group: '', name: 'echo' }],
          action: 'DENY',
          rules: [{ to: [{ operation: { paths: ['/admin'] } }] }],
        },
      }),
    );
    await waitUntil('the policy at the waypoint', async () => (await ask('/admin')).status === 403);
    t.equal((await ask('//admin')).status, 403, 'DECODE_AND_MERGE_SLASHES: //admin is /admin');
    t.equal((await ask('/%2Fadmin')).status, 403, 'and so is /%2Fadmin');

    await mesh.apply('mesh-config.yaml', meshConfig('BASE'));
    await waitUntil('BASE in force', async () => (await ask('//admin')).status === 200);
    const passed = await ask('//admin');
    t.equal(passed.status, 200, "BASE does not merge slashes: Istio's documented gap");
    t.equal(passed.reply?.path, '//admin', 'the service receives the path as sent');
    t.equal((await ask('/admin')).status, 403, 'the policy still holds for /admin');
    t.equal((await ask('/x/../admin')).status, 403, 'BASE removes dot segments');

    await mesh.apply('mesh-config.yaml', meshConfig());
    await waitUntil('the default again', async () => (await ask('//admin')).status === 403);
    t.equal((await ask('//admin')).status, 403, 'switching back restores it');
  });
});
