import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { resolveMeshConfig, type MeshConfigSpec } from '../../api/mesh/config.js';
import { AccessLog } from '../../core/telemetry/access-log.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { createRegistry } from '../../core/telemetry/metrics.js';
import {
  cluster,
  endpoint,
  route,
  service,
  startApp,
  startProxy,
} from '../proxy/testing/harness.js';
import { WaypointTelemetry } from './telemetry.js';

// The waypoint's telemetry end to end inside one process: requests through the real request
// pipeline (apps on loopback), spans to a real HTTP collector, access log lines to a sink.

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const NODE = { id: 'waypoint~waypoint.demo', name: 'waypoint', namespace: 'demo' };

async function zipkinCollector(
  t: Test,
): Promise<{ port: number; spans: Record<string, unknown>[] }> {
  const spans: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      spans.push(...(JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>[]));
      res.writeHead(202).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => server.close());
  return { port: (server.address() as AddressInfo).port, spans };
}

function telemetry(lines: string[]): WaypointTelemetry {
  return new WaypointTelemetry({
    node: NODE,
    registry: createRegistry(),
    logger: silentLogger(),
    accessLog: new AccessLog({ write: (text: string) => lines.push(text) }),
  });
}

function mesh(spec: MeshConfigSpec) {
  return resolveMeshConfig(spec);
}

t.test('a traced request is the child of its caller and the parent of its upstream', async (t) => {
  const collector = await zipkinCollector(t);
  const lines: string[] = [];
  const tel = telemetry(lines);
  const app = await startApp(t);
  const c = cluster([endpoint(app.port)]);
  const svc = service([c], [route([c])]);
  tel.configure(
    mesh({
      extensionProviders: [
        { name: 'zipkin', zipkin: { service: '127.0.0.1', port: collector.port } },
      ],
      defaultProviders: { tracing: ['zipkin'] },
      defaultConfig: { tracing: { sampling: 0 } },
    }),
    [svc],
  );
  const h = await startProxy(t, [svc], { tracing: tel.tracing });
  await h.request({ headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01`, tracestate: 'v=1' } });
  const seen = app.received[0]!.headers;
  const upstream = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(seen.traceparent));
  t.ok(upstream, `upstream traceparent ${String(seen.traceparent)}`);
  t.equal(upstream?.[1], TRACE, 'same trace');
  const waypointSpan = upstream?.[2];
  t.not(waypointSpan, CALLER_SPAN, 'a new span');
  t.equal(seen.tracestate, 'v=1', 'tracestate passes on');
  t.equal(seen['x-b3-traceid'], TRACE);
  t.equal(seen['x-b3-spanid'], waypointSpan);
  t.equal(seen['x-b3-parentspanid'], CALLER_SPAN);
  t.equal(seen['x-b3-sampled'], '1', 'the caller decided: sampled despite 0 %');
  t.equal(seen.b3, `${TRACE}-${waypointSpan}-1-${CALLER_SPAN}`);
  t.match(
    seen['x-request-id'],
    /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
  );
  for (const record of h.records) tel.requestDone(record);
  await tel.close();
  t.match(collector.spans, [
    {
      traceId: TRACE,
      id: waypointSpan,
      parentId: CALLER_SPAN,
      kind: 'SERVER',
      name: 'echo.demo.svc.cluster.local:80/*',
      localEndpoint: { serviceName: 'waypoint.demo' },
      tags: {
        'http.method': 'GET',
        'http.status_code': '200',
        node_id: NODE.id,
        'istio.canonical_service': 'waypoint',
        upstream_cluster: c.name,
        'guid:x-request-id': seen['x-request-id'],
      },
    },
  ]);
  t.same(lines, [], 'no access log unless configured');
});

t.test('without a tracer trace headers pass untouched; a request id is still made', async (t) => {
  const tel = telemetry([]);
  const app = await startApp(t);
  const c = cluster([endpoint(app.port)]);
  const svc = service([c], [route([c])]);
  tel.configure(mesh({}), [svc]);
  const h = await startProxy(t, [svc], { tracing: tel.tracing });
  const traceparent = `00-${TRACE}-${CALLER_SPAN}-01`;
  await h.request({ headers: { traceparent, 'x-request-id': 'from-client' } });
  const seen = app.received[0]!.headers;
  t.equal(seen.traceparent, traceparent);
  t.equal(seen['x-b3-traceid'], undefined);
  t.equal(seen['x-request-id'], 'from-client', "the caller's request id is kept");
  t.equal(h.records[0]?.span, undefined, 'no span made');
  await h.request({});
  t.match(app.received[1]!.headers['x-request-id'], /^[0-9a-f-]{36}$/);
});

t.test('an unsampled new trace still propagates its context, and reports nothing', async (t) => {
  const collector = await zipkinCollector(t);
  const tel = telemetry([]);
  const app = await startApp(t);
  const c = cluster([endpoint(app.port)]);
  const svc = service([c], [route([c])], {
    telemetry: {
      tracing: { providers: ['zipkin'], randomSamplingPercentage: 0, disableSpanReporting: false },
      workloads: {},
    },
  });
  tel.configure(
    mesh({
      extensionProviders: [
        { name: 'zipkin', zipkin: { service: '127.0.0.1', port: collector.port } },
      ],
    }),
    [svc],
  );
  const h = await startProxy(t, [svc], { tracing: tel.tracing });
  await h.request({});
  t.match(app.received[0]!.headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
  t.equal(app.received[0]!.headers['x-b3-parentspanid'], undefined, 'a root span');
  for (const record of h.records) tel.requestDone(record);
  await tel.close();
  t.same(collector.spans, []);
});

t.test('the access log follows config pushes on the next request', async (t) => {
  const lines: string[] = [];
  const tel = telemetry(lines);
  const app = await startApp(t);
  const c = cluster([endpoint(app.port)]);
  const svc = service([c], [route([c])]);
  tel.configure(mesh({ accessLogFile: '/dev/stdout' }), [svc]);
  const h = await startProxy(t, [svc]);
  await h.request({ path: '/one', headers: { 'user-agent': 'test/1' } });
  tel.requestDone(h.records[0]!);
  tel.configure(mesh({}), [svc]);
  await h.request({ path: '/two' });
  tel.requestDone(h.records[1]!);
  t.equal(lines.length, 1, 'one line, for the request made while logging was on');
  const line = JSON.parse(lines[0]!) as Record<string, unknown>;
  t.match(line, {
    method: 'GET',
    path: '/one',
    protocol: 'HTTP/1.1',
    response_code: 200,
    response_flags: '-',
    user_agent: 'test/1',
    request_id: String(app.received[0]!.headers['x-request-id']),
    upstream_cluster: c.name,
    upstream_host: `127.0.0.1:${app.port}`,
    trace_id: null,
  });
  t.ok((line.bytes_sent as number) > 0, 'response bytes counted');
  t.ok(lines[0]!.endsWith('}\n'), 'one JSON object per line');
});
