import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { silentLogger } from '../log.js';
import { createRegistry, type Registry } from '../metrics.js';
import { BatchSpanExporter, ExportMetrics, type ExporterLimits } from './exporter.js';
import type { FinishedSpan } from './span.js';

function span(i: number): FinishedSpan {
  return {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: (0x1000 + i).toString(16).padStart(16, '0'),
    parentSpanId: '00f067aa0ba902b7',
    name: 'echo.demo.svc.cluster.local:80/*',
    kind: 'SERVER',
    startMs: 1_767_323_045_006.5,
    durationMs: 3.25,
    attributes: { 'http.method': 'GET', 'http.status_code': '200', retries: 1, cached: false },
    error: i % 2 === 1,
  };
}

interface Collector {
  readonly server: Server;
  readonly port: number;
  readonly posts: { path: string; body: unknown }[];
}

async function collector(
  t: Test,
  answer: (req: IncomingMessage) => number | 'hang' = () => 200,
): Promise<Collector> {
  const posts: Collector['posts'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString()) });
      const status = answer(req);
      if (status !== 'hang') res.writeHead(status).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return { server, port: (server.address() as AddressInfo).port, posts };
}

async function dropped(registry: Registry): Promise<Record<string, number>> {
  const metric = await registry.getSingleMetric('ambit_tracing_spans_dropped_total')!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.reason), v.value]));
}

function exporter(
  registry: Registry,
  port: number,
  format: 'otlp' | 'zipkin',
  limits: Partial<ExporterLimits>,
): BatchSpanExporter {
  return new BatchSpanExporter({
    target: {
      format,
      host: '127.0.0.1',
      port,
      path: format === 'otlp' ? '/v1/traces' : '/api/v2/spans',
    },
    source: { serviceName: 'waypoint.demo' },
    metrics: new ExportMetrics(registry),
    logger: silentLogger(),
    limits,
  });
}

t.test('spans go out in batches of maxBatch as OTLP/HTTP JSON', async (t) => {
  const c = await collector(t);
  const registry = createRegistry();
  const e = exporter(registry, c.port, 'otlp', { maxBatch: 4, flushIntervalMs: 60_000 });
  for (let i = 0; i < 10; i++) e.add(span(i));
  await e.close();
  const sizes = c.posts.map(
    (p) =>
      (p.body as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] }).resourceSpans[0]!
        .scopeSpans[0]!.spans.length,
  );
  t.same(sizes, [4, 4, 2], 'two full batches, then the rest on close');
  t.equal(c.posts[0]!.path, '/v1/traces');
  t.match(c.posts[0]!.body, {
    resourceSpans: [
      {
        resource: {
          attributes: [{ key: 'service.name', value: { stringValue: 'waypoint.demo' } }],
        },
        scopeSpans: [
          {
            spans: [
              {
                traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
                spanId: '0000000000001000',
                parentSpanId: '00f067aa0ba902b7',
                kind: 2,
                startTimeUnixNano: '1767323045006500000',
                endTimeUnixNano: '1767323045009750000',
                attributes: [
                  { key: 'http.method', value: { stringValue: 'GET' } },
                  { key: 'http.status_code', value: { stringValue: '200' } },
                  { key: 'retries', value: { intValue: '1' } },
                  { key: 'cached', value: { boolValue: false } },
                ],
                status: {},
              },
              { status: { code: 2 } },
            ],
          },
        ],
      },
    ],
  });
  t.same(await dropped(registry), {});
});

t.test('a partial batch goes out after the flush interval, as Zipkin v2 JSON', async (t) => {
  const c = await collector(t);
  const registry = createRegistry();
  const e = exporter(registry, c.port, 'zipkin', { maxBatch: 100, flushIntervalMs: 20 });
  t.teardown(() => e.close());
  e.add(span(1));
  const deadline = Date.now() + 5000;
  while (c.posts.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.equal(c.posts[0]?.path, '/api/v2/spans');
  t.match(c.posts[0]?.body, [
    {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      id: '0000000000001001',
      parentId: '00f067aa0ba902b7',
      kind: 'SERVER',
      timestamp: 1767323045006500,
      duration: 3250,
      localEndpoint: { serviceName: 'waypoint.demo' },
      tags: { 'http.method': 'GET', retries: '1', error: 'true' },
    },
  ]);
});

t.test('a collector that is down: batches fail and are counted, add never waits', async (t) => {
  const c = await collector(t);
  const port = c.port;
  c.server.close();
  await once(c.server, 'close');
  const registry = createRegistry();
  const e = exporter(registry, port, 'otlp', {
    maxBatch: 5,
    maxQueue: 20,
    flushIntervalMs: 60_000,
  });
  const started = performance.now();
  for (let i = 0; i < 10; i++) e.add(span(i));
  t.ok(performance.now() - started < 50, 'queuing 10 spans took no network time');
  await e.close();
  t.same(await dropped(registry), { export_failed: 10 });
});

t.test('closing gives a failing collector one try, then drops the rest', async (t) => {
  const c = await collector(t, () => 'hang');
  const registry = createRegistry();
  const e = exporter(registry, c.port, 'otlp', {
    maxBatch: 2,
    maxQueue: 100,
    timeoutMs: 100,
    flushIntervalMs: 60_000,
  });
  for (let i = 0; i < 21; i++) e.add(span(i));
  const started = performance.now();
  await e.close();
  t.ok(performance.now() - started < 1000, 'close waited about one POST timeout, not ten');
  t.same(await dropped(registry), { export_failed: 21 });
});

t.test('a collector that never answers: the queue fills and new spans drop', async (t) => {
  const c = await collector(t, () => 'hang');
  const registry = createRegistry();
  const e = exporter(registry, c.port, 'otlp', {
    maxBatch: 2,
    maxQueue: 4,
    timeoutMs: 200,
    flushIntervalMs: 60_000,
  });
  const started = performance.now();
  for (let i = 0; i < 20; i++) e.add(span(i));
  t.ok(performance.now() - started < 50, 'adding never waited on the collector');
  // 2 in flight, 4 queued, 14 dropped at once; the hung POST then times out.
  t.same(await dropped(registry), { queue_full: 14 });
  await e.close();
  t.same(await dropped(registry), { queue_full: 14, export_failed: 6 });
});
