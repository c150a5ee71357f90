import { once } from 'node:events';
import { connect as connectHttp2, type IncomingHttpHeaders } from 'node:http2';
import { createServer, type AddressInfo } from 'node:net';
import t from 'tap';
import type { RetryPolicy } from '../../api/waypoint/config.js';
import type { PathNormalization } from '../authz/normalize-path.js';
import { waitFor } from '../../core/xds/testing/wait.js';
import {
  cluster,
  deadPort,
  endpoint,
  HOSTNAME,
  route,
  service,
  SOURCE_IP,
  startApp,
  startProxy,
} from './testing/harness.js';

// The request pipeline against apps on loopback, with a test double for the HBONE connect
// (LoopbackTunnels): routing, local replies, retries, timeouts, breakers, outlier detection.

const RETRY_503: RetryPolicy = {
  attempts: 2,
  retryOn: ['retriable-status-codes'],
  retriableStatusCodes: [503],
  backoffBaseMs: 1,
};

/** Round robin starts at the first endpoint when chance always says 0. */
const first = (): number => 0;

t.test('a request reaches the endpoint and upstream connections are reused', async (t) => {
  const app = await startApp(t);
  const c = cluster([endpoint(app.port)]);
  const h = await startProxy(t, [
    service([c], [route([c], { origin: 'VirtualService demo/echo http[0]' })]),
  ]);
  const reply = await h.request({ path: '/hello?x=1' });
  t.equal(reply.status, 200);
  const seen = JSON.parse(reply.body) as { url: string; headers: Record<string, string> };
  t.equal(seen.url, '/hello?x=1');
  t.equal(seen.headers.host, 'echo', 'the authority goes upstream as Host');
  t.match(seen.headers['x-request-id'], /^[0-9a-f-]{36}$/);
  const again = await h.request({ path: '/two', method: 'POST', body: 'payload' });
  t.equal((JSON.parse(again.body) as { body: string }).body, 'payload');
  t.equal(h.tunnels.opened, 1, 'one upstream tunnel carried both requests');
  t.equal(h.tunnelsAccepted(), 1, 'and one downstream tunnel, kept alive');
  t.equal(app.connections(), 1);
  t.match(h.records[0], {
    service: `demo/${HOSTNAME}`,
    port: 80,
    protocol: 'http1',
    route: 'VirtualService demo/echo http[0]',
    cluster: c.name,
    endpoint: `127.0.0.1:${app.port}`,
    status: 200,
    flags: [],
    attempts: 1,
    sourceAddress: SOURCE_IP,
  });
});

t.test('no matching route is a 404 with flag NR', async (t) => {
  const app = await startApp(t);
  const c = cluster([endpoint(app.port)]);
  const only = route([c], { matches: [{ uri: { prefix: '/api' } }] });
  const h = await startProxy(t, [service([c], [only])]);
  const reply = await h.request({ path: '/other' });
  t.equal(reply.status, 404);
  t.equal(reply.body, '');
  t.same(h.records[0]?.flags, ['NR']);
  t.equal(app.received.length, 0);
});

t.test('a tunnel to an address the waypoint does not serve is refused with 503', async (t) => {
  const h = await startProxy(t, [service([], [])]);
  const socket = await h.tunnel('10.96.9.9:80');
  await once(socket, 'end');
  t.same(h.refused, [503]);
});

t.test('a service without routes takes the default route with its retry policy', async (t) => {
  const app = await startApp(t, (_req, res, index) => {
    res.statusCode = index === 0 ? 503 : 200;
    res.end(`answer ${index}`);
  });
  const c = cluster([endpoint(app.port)]);
  const h = await startProxy(t, [service([c], [])]);
  const reply = await h.request({});
  t.equal(reply.status, 200, "Istio's default policy retries a 503");
  t.equal(reply.body, 'answer 1');
  t.match(h.records[0], { route: `default route to ${HOSTNAME}:80`, attempts: 2 });
});

t.test('a 503 is retried until an attempt succeeds, and the body is sent again', async (t) => {
  const app = await startApp(t, (req, res, index) => {
    res.statusCode = index < 2 ? 503 : 200;
    res.end(req.body);
  });
  const c = cluster([endpoint(app.port)]);
  const h = await startProxy(t, [service([c], [route([c], { retries: RETRY_503 })])]);
  const body = 'x'.repeat(100_000);
  const reply = await h.request({ method: 'POST', body });
  t.equal(reply.status, 200);
  t.equal(reply.body.length, body.length, 'the third attempt got the whole body');
  t.same(
    app.received.map((r) => r.body.length),
    [body.length, body.length, body.length],
  );
  t.match(h.records[0], { status: 200, attempts: 3, flags: [] });
});

t.test('when retries run out the last response passes with flag URX', async (t) => {
  const app = await startApp(t, (_req, res) => {
    res.statusCode = 503;
    res.end('busy');
  });
  const c = cluster([endpoint(app.port)]);
  const h = await startProxy(t, [service([c], [route([c], { retries: RETRY_503 })])]);
  const reply = await h.request({});
  t.equal(reply.status, 503);
  t.equal(reply.body, 'busy');
  t.match(h.records[0], { attempts: 3, flags: ['URX'] });
});

t.test('a retry goes to another host than the one that failed', async (t) => {
  const dead = await deadPort();
  const app = await startApp(t);
  const c = cluster([endpoint(dead), endpoint(app.port)]);
  const retries: RetryPolicy = { ...RETRY_503, retryOn: ['connect-failure'] };
  const h = await startProxy(t, [service([c], [route([c], { retries })])], { random: first });
  const reply = await h.request({});
  t.equal(reply.status, 200);
  t.match(h.records[0], { attempts: 2, endpoint: `127.0.0.1:${app.port}`, flags: [] });
});

t.test('connect failures on every attempt are a 503 with flags UF and URX', async (t) => {
  const dead = await deadPort();
  const c = cluster([endpoint(dead)]);
  const retries: RetryPolicy = { ...RETRY_503, retryOn: ['connect-failure'] };
  const h = await startProxy(t, [service([c], [route([c], { retries })])]);
  const reply = await h.request({});
  t.equal(reply.status, 503);
  t.equal(
    reply.body,
    'upstream connect error or disconnect/reset before headers. retried and the latest reset reason: connection failure',
  );
  t.match(h.records[0], { attempts: 3, flags: ['UF', 'URX'] });
});

t.test('a cluster with no endpoint is a 503 no healthy upstream (UH)', async (t) => {
  const c = cluster([]);
  const h = await startProxy(t, [service([c], [route([c])])]);
  const reply = await h.request({});
  t.equal(reply.status, 503);
  t.equal(reply.body, 'no healthy upstream');
  t.same(h.records[0]?.flags, ['UH']);
});

t.test('a cluster the control plane could not build (a missing subset) is 503 NC', async (t) => {
  // Envoy answers a route to a cluster it does not have with 503, flag NC and no body.
  const c = { ...cluster([]), problem: 'subset v9 matches no endpoint' };
  const h = await startProxy(t, [service([c], [route([c])])]);
  const reply = await h.request({});
  t.equal(reply.status, 503);
  t.equal(reply.body, '');
  t.same(h.records[0]?.flags, ['NC']);
});

t.test('the route timeout answers 504 upstream request timeout (UT)', async (t) => {
  const app = await startApp(t, () => {
    // Never answers.
  });
  const c = cluster([endpoint(app.port)]);
  const h = await startProxy(t, [service([c], [route([c], { timeoutMs: 100 })])]);
  const started = performance.now();
  const reply = await h.request({});
  t.equal(reply.status, 504);
  t.equal(reply.body, 'upstream request timeout');
  t.ok(performance.now() - started >= 95, 'not before the timeout');
  t.same(h.records[0]?.flags, ['UT']);
});

t.test('a per-try timeout retried on 5xx lands on the next host', async (t) => {
  const slow = await startApp(t, () => {
    // Never answers.
  });
  const app = await startApp(t);
  const c = cluster([endpoint(slow.port), endpoint(app.port)]);
  const retries: RetryPolicy = { ...RETRY_503, retryOn: ['5xx'], perTryTimeoutMs: 100 };
  const h = await startProxy(t, [service([c], [route([c], { retries })])], { random: first });
  const reply = await h.request({});
  t.equal(reply.status, 200);
  t.match(h.records[0], { attempts: 2, endpoint: `127.0.0.1:${app.port}` });
});

t.test('a full pending queue overflows with 503 UO', async (t) => {
  const held: (() => void)[] = [];
  const app = await startApp(t, (_req, res) => held.push(() => res.end('done')));
  const c = cluster([endpoint(app.port)], {
    policy: {
      connectionPool: {
        maxConnections: 1,
        http1MaxPendingRequests: 1,
        http2MaxRequests: 100,
        maxRequestsPerConnection: 0,
        maxRetries: 3,
        connectTimeoutMs: 1000,
      },
    },
  });
  const h = await startProxy(t, [service([c], [route([c])])]);
  const breaker = h.state.cluster(c.name)!.breaker;
  const one = h.request({ path: '/1' });
  await waitFor('the first request at the app', () => app.received.length === 1);
  const two = h.request({ path: '/2' });
  await waitFor('the second request pending', () => breaker.counts().pending === 1);
  const three = await h.request({ path: '/3' });
  t.equal(three.status, 503);
  t.equal(
    three.body,
    'upstream connect error or disconnect/reset before headers. reset reason: overflow',
  );
  t.same(h.records[0]?.flags, ['UO']);
  held.shift()!();
  t.equal((await one).status, 200);
  await waitFor('the second request at the app', () => held.length === 1);
  held.shift()!();
  t.equal((await two).status, 200);
  t.equal(app.connections(), 1, 'the queued request waited for the one connection');
});

t.test('fault injection aborts (FI) and delays (DI)', async (t) => {
  const app = await startApp(t);
  const c = cluster([endpoint(app.port)]);
  const abort = route([c], {
    matches: [{ uri: { prefix: '/abort' } }],
    fault: { abort: { httpStatus: 418, percentage: 100 } },
  });
  const grpc = route([c], {
    matches: [{ uri: { prefix: '/grpc' } }],
    fault: { abort: { httpStatus: 503, grpcStatus: 14, percentage: 100 } },
  });
  const delay = route([c], { fault: { delay: { fixedDelayMs: 100, percentage: 100 } } });
  const h = await startProxy(t, [service([c], [abort, grpc, delay])]);
  const grpcAborted = await h.request({ path: '/grpc' });
  t.equal(grpcAborted.status, 200, 'a gRPC abort is a trailers-only gRPC answer');
  t.equal(grpcAborted.headers['grpc-status'], '14');
  const aborted = await h.request({ path: '/abort' });
  t.equal(aborted.status, 418);
  t.equal(aborted.body, 'fault filter abort');
  const started = performance.now();
  const delayed = await h.request({ path: '/slow' });
  t.equal(delayed.status, 200);
  t.ok(performance.now() - started >= 95, 'delayed by the fault');
  t.same(
    h.records.map((r) => r.flags),
    [['FI'], ['FI'], ['DI']],
  );
  t.equal(app.received.length, 1, 'the aborted request never went upstream');
});

t.test('direct responses and redirects are answered by the waypoint', async (t) => {
  const h = await startProxy(t, [
    service(
      [],
      [
        route(
          { kind: 'direct', status: 200, body: 'hello from the waypoint' },
          { matches: [{ uri: { exact: '/direct' } }] },
        ),
        route(
          { kind: 'redirect', redirect: { uri: '/new', authority: 'other.example', status: 301 } },
          { matches: [{ uri: { prefix: '/old' } }] },
        ),
      ],
    ),
  ]);
  const direct = await h.request({ path: '/direct' });
  t.equal(direct.status, 200);
  t.equal(direct.body, 'hello from the waypoint');
  const moved = await h.request({ path: '/old/page?q=1' });
  t.equal(moved.status, 301);
  t.equal(moved.headers.location, 'http://other.example/new?q=1');
});

t.test("a destination's authority is used unless the route rewrites it", async (t) => {
  const app = await startApp(t);
  const c = cluster([endpoint(app.port)]);
  const destinations = [{ cluster: c.name, weight: 100, authority: 'named.by.destination' }];
  const h = await startProxy(t, [
    service(
      [c],
      [
        route(
          { kind: 'route', destinations },
          { matches: [{ uri: { prefix: '/rewritten' } }], rewrite: { authority: 'by.route' } },
        ),
        route({ kind: 'route', destinations }),
      ],
    ),
  ]);
  const host = async (path: string) =>
    (JSON.parse((await h.request({ path })).body) as { headers: { host: string } }).headers.host;
  t.equal(await host('/plain'), 'named.by.destination');
  t.equal(await host('/rewritten'), 'by.route');
});

t.test('rewrites and header operations apply at the route and the destination', async (t) => {
  const app = await startApp(t, (req, res) => {
    res.setHeader('x-app', 'yes');
    res.setHeader('x-secret', 'internal');
    res.end(JSON.stringify(req));
  });
  const c = cluster([endpoint(app.port)]);
  const r = route(
    {
      kind: 'route',
      destinations: [
        {
          cluster: c.name,
          weight: 100,
          headers: { request: { set: { 'x-destination': 'v1' } } },
        },
      ],
    },
    {
      matches: [{ uri: { prefix: '/api/' } }],
      rewrite: { prefix: '/v2/', authority: 'backend.internal' },
      headers: {
        request: { add: { 'x-route': 'r1' }, remove: ['x-drop'] },
        response: { remove: ['x-secret'], set: { 'x-served-by': 'waypoint' } },
      },
    },
  );
  const h = await startProxy(t, [service([c], [r])]);
  const reply = await h.request({ path: '/api/items?id=3', headers: { 'x-drop': 'me' } });
  const seen = JSON.parse(reply.body) as { url: string; headers: Record<string, string> };
  t.equal(seen.url, '/v2/items?id=3');
  t.equal(seen.headers.host, 'backend.internal');
  t.equal(seen.headers['x-destination'], 'v1');
  t.equal(seen.headers['x-route'], 'r1');
  t.notOk('x-drop' in seen.headers);
  t.equal(reply.headers['x-app'], 'yes');
  t.equal(reply.headers['x-served-by'], 'waypoint');
  t.notOk('x-secret' in reply.headers);
});

t.test('a CORS preflight is answered by the waypoint', async (t) => {
  const app = await startApp(t);
  const c = cluster([endpoint(app.port)]);
  const r = route([c], {
    cors: {
      allowOrigins: [{ exact: 'https://app.example' }],
      allowMethods: ['GET', 'POST'],
      allowHeaders: ['x-token'],
      exposeHeaders: ['x-app'],
      maxAgeSeconds: 60,
    },
  });
  const h = await startProxy(t, [service([c], [r])]);
  const preflight = await h.request({
    method: 'OPTIONS',
    headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
  });
  t.equal(preflight.status, 200);
  t.equal(preflight.headers['access-control-allow-origin'], 'https://app.example');
  t.equal(preflight.headers['access-control-allow-methods'], 'GET,POST');
  t.equal(app.received.length, 0);
  const actual = await h.request({ headers: { origin: 'https://app.example' } });
  t.equal(actual.headers['access-control-expose-headers'], 'x-app');
  t.equal(app.received.length, 1);
});

t.test(
  'a mirror gets a copy with the -shadow authority and never delays the request',
  async (t) => {
    const app = await startApp(t);
    const mirrored = await startApp(t, () => {
      // The mirror never answers; the main request must not wait for it.
    });
    const main = cluster([endpoint(app.port)]);
    const shadow = cluster([endpoint(mirrored.port)], { subset: 'shadow' });
    const r = route([main], { mirrors: [{ cluster: shadow.name, percentage: 100 }] });
    const h = await startProxy(t, [service([main, shadow], [r])]);
    const reply = await h.request({ method: 'POST', path: '/m', body: 'copy me' });
    t.equal(reply.status, 200);
    await waitFor('the mirrored request', () => mirrored.received.length === 1);
    t.match(mirrored.received[0], {
      method: 'POST',
      url: '/m',
      headers: { host: 'echo-shadow' },
      body: 'copy me',
    });
  },
);

t.test('consecutive errors eject a host and requests go to the others', async (t) => {
  const bad = await startApp(t, (_req, res) => {
    res.statusCode = 500;
    res.end();
  });
  const good = await startApp(t);
  const c = cluster([endpoint(bad.port), endpoint(good.port)], {
    policy: {
      outlierDetection: {
        consecutive5xxErrors: 1,
        intervalMs: 10_000,
        baseEjectionTimeMs: 30_000,
        maxEjectionPercent: 100,
        minHealthPercent: 0,
      },
    },
  });
  const h = await startProxy(t, [service([c], [route([c])])], { random: first });
  t.equal((await h.request({})).status, 500, 'round robin starts at the bad host');
  const hosts = h.state.cluster(c.name)!.hosts();
  t.same(
    hosts.map((host) => host.ejected),
    [true, false],
  );
  for (let i = 0; i < 4; i++) t.equal((await h.request({})).status, 200);
  t.equal(bad.received.length, 1);
});

t.test('HTTP/2 with prior knowledge is served on the same port', async (t) => {
  const app = await startApp(t);
  const c = cluster([endpoint(app.port)]);
  const h = await startProxy(t, [service([c], [route([c])])]);
  const socket = await h.tunnel();
  const session = connectHttp2('http://echo', { createConnection: () => socket });
  t.teardown(() => session.destroy());
  const stream = session.request({ ':path': '/h2', ':authority': 'echo:80', 'x-h2': 'yes' });
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  const [headers] = (await once(stream, 'response')) as [IncomingHttpHeaders];
  await new Promise((resolve) => stream.once('end', resolve));
  t.equal(headers[':status'], 200);
  const seen = JSON.parse(Buffer.concat(chunks).toString()) as {
    url: string;
    headers: Record<string, string>;
  };
  t.equal(seen.url, '/h2');
  t.equal(seen.headers.host, 'echo:80');
  t.equal(seen.headers['x-h2'], 'yes');
  t.equal(h.records[0]?.protocol, 'http2');
});

t.test('bytes that are not HTTP on an auto port are forwarded as TCP', async (t) => {
  const echo = createServer({ allowHalfOpen: true }, (socket) => socket.pipe(socket));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  t.teardown(() => echo.close());
  const { port } = echo.address() as AddressInfo;
  const c = cluster([endpoint(port)], { port: 9000 });
  const h = await startProxy(t, [service([c], [], { ports: [{ port: 9000, protocol: 'auto' }] })]);
  const socket = await h.tunnel(`10.96.0.10:9000`);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.end('\x16\x03\x01 not http\n');
  await new Promise((resolve) => socket.once('end', resolve));
  t.equal(Buffer.concat(chunks).toString(), '\x16\x03\x01 not http\n');
});

t.test('a drain closes idle connections and tells busy ones to close', async (t) => {
  const held: (() => void)[] = [];
  const app = await startApp(t, (_req, res) => held.push(() => res.end('done')));
  const c = cluster([endpoint(app.port)]);
  const h = await startProxy(t, [service([c], [route([c])])]);
  const idle = await h.tunnel();
  idle.write('GET /idle HTTP/1.1\r\nhost: echo\r\n\r\n');
  await waitFor("the idle connection's request at the app", () => held.length === 1);
  held.shift()!();
  await once(idle, 'data');
  const busy = h.request({});
  await waitFor('the request at the app', () => held.length === 1);
  h.proxy.drain();
  await once(idle, 'end');
  held.shift()!();
  const reply = await busy;
  t.equal(reply.status, 200);
  t.equal(reply.headers.connection, 'close');
});

t.test('path normalization follows MeshConfig as it is now, request by request', async (t) => {
  const app = await startApp(t);
  const c = cluster([endpoint(app.port)]);
  const denyAdmin = {
    name: 'demo/no-admin',
    action: 'DENY' as const,
    rules: [{ to: [{ paths: ['/admin'] }] }],
  };
  let mode: PathNormalization = 'DECODE_AND_MERGE_SLASHES';
  const h = await startProxy(t, [service([c], [route([c])], { policies: [denyAdmin] })], {
    pathNormalization: () => mode,
  });
  t.equal((await h.request({ path: '//admin' })).status, 403, 'merged, then denied');
  t.equal((await h.request({ path: '/%2Fadmin' })).status, 403, 'decoded and merged');
  mode = 'BASE';
  t.equal((await h.request({ path: '//admin' })).status, 200, 'BASE keeps the double slash');
  t.equal(app.received.at(-1)?.url, '//admin', 'and sends it upstream as received');
  t.equal((await h.request({ path: '/x/../admin' })).status, 403, 'BASE removes dot segments');
  mode = 'MERGE_SLASHES';
  t.equal((await h.request({ path: '//admin' })).status, 403);
  t.equal((await h.request({ path: '/%2Fadmin' })).status, 200, 'MERGE_SLASHES keeps %2F');
  mode = 'NONE';
  t.equal((await h.request({ path: '/x/../admin' })).status, 200, 'NONE: the path as sent');
  mode = 'DECODE_AND_MERGE_SLASHES';
  t.equal((await h.request({ path: '//admin' })).status, 403, 'switching back restores it');
});
