import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import t, { type Test } from 'tap';
import { createEchoServer, type EchoReply, type EchoServer } from './echo.js';

// The echo on loopback, over real sockets, as the mesh suites use it behind a pod's netns.

async function started(t: Test, echo: EchoServer): Promise<number> {
  const { port } = await echo.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => echo.close());
  return port;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  port: number,
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: options.headers,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.once('error', reject);
    req.end(options.body);
  });
}

function h2Request(
  port: number,
  headers: http2.OutgoingHttpHeaders,
  body?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.once('error', reject);
    const stream = session.request(headers);
    let status = 0;
    let text = '';
    stream.setEncoding('utf8');
    stream.once('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (chunk: string) => (text += chunk));
    stream.once('error', (err) => {
      session.close();
      reject(err);
    });
    stream.once('end', () => {
      session.close();
      resolve({ status, body: text });
    });
    stream.end(body);
  });
}

t.test('an HTTP/1.1 request comes back described', async (t) => {
  const echo = createEchoServer({ version: 'v1', name: 'reviews-v1' });
  const port = await started(t, echo);
  const answer = await request(port, {
    method: 'POST',
    path: '/reviews/1?x=y',
    headers: { host: 'reviews:9080', 'x-user': 'jason' },
    body: 'hello',
  });
  t.equal(answer.status, 200);
  t.equal(answer.headers['x-echo-version'], 'v1');
  t.equal(answer.headers['x-echo-pod'], 'reviews-v1');
  const reply = JSON.parse(answer.body) as EchoReply;
  t.match(reply, {
    version: 'v1',
    pod: 'reviews-v1',
    protocol: 'HTTP/1.1',
    method: 'POST',
    path: '/reviews/1?x=y',
    host: 'reviews:9080',
    headers: { 'x-user': 'jason' },
    bodyLength: 5,
    sourceAddress: '127.0.0.1',
    served: 1,
  });
  t.equal(echo.served, 1);
});

t.test('an h2c request (prior knowledge) is served on the same port', async (t) => {
  const echo = createEchoServer({ version: 'v2', name: 'reviews-v2' });
  const port = await started(t, echo);
  const answer = await h2Request(
    port,
    { ':method': 'PUT', ':path': '/a', ':authority': 'reviews:9080', 'x-user': 'h2' },
    'four',
  );
  t.equal(answer.status, 200);
  const reply = JSON.parse(answer.body) as EchoReply;
  t.match(reply, {
    version: 'v2',
    protocol: 'HTTP/2',
    method: 'PUT',
    path: '/a',
    host: 'reviews:9080',
    bodyLength: 4,
    headers: { 'x-user': 'h2' },
  });
  t.notOk(
    Object.keys(reply.headers).some((h) => h.startsWith(':')),
    'no pseudo-headers',
  );
  // And HTTP/1.1 still works afterwards.
  t.equal((await request(port, {})).status, 200);
});

t.test('an HTTP/1.1 request arriving a byte at a time is served whole', async (t) => {
  const echo = createEchoServer({ version: 'v1' });
  const port = await started(t, echo);
  const socket = net.connect(port, '127.0.0.1');
  t.teardown(() => socket.destroy());
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.setNoDelay(true);
  const text = 'GET /slow HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n';
  for (const ch of text) socket.write(ch);
  let out = '';
  socket.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => socket.once('end', resolve));
  t.match(out, /^HTTP\/1\.1 200/);
  t.match(out, /"path":"\/slow"/);
});

t.test('headers steer one request: status, delay, reset', async (t) => {
  const echo = createEchoServer({ version: 'v1' });
  const port = await started(t, echo);
  t.equal((await request(port, { headers: { 'x-echo-status': '503' } })).status, 503);

  const before = performance.now();
  const slow = await request(port, { headers: { 'x-echo-delay-ms': '200' } });
  t.equal(slow.status, 200);
  t.ok(performance.now() - before >= 190, 'answered after the delay');

  const reset = await request(port, { headers: { 'x-echo-reset': '1' } }).then(
    () => 'answered',
    (err: NodeJS.ErrnoException) => err.code,
  );
  t.equal(reset, 'ECONNRESET', 'HTTP/1.1: the connection is reset');
  const h2reset = await h2Request(port, { ':path': '/', 'x-echo-reset': '1' }).then(
    () => 'answered',
    (err: NodeJS.ErrnoException) => err.code,
  );
  t.equal(h2reset, 'ERR_HTTP2_STREAM_ERROR', 'HTTP/2: the stream is reset');

  const bad = await request(port, { headers: { 'x-echo-status': 'teapot' } });
  t.equal(bad.status, 400);
  t.match(JSON.parse(bad.body), { error: /x-echo-status/ });
});

t.test('a flaky endpoint fails every Nth request; /health is never counted', async (t) => {
  const echo = createEchoServer({ version: 'v1', behaviour: { failEvery: 2 } });
  const port = await started(t, echo);
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    statuses.push((await request(port, {})).status);
    t.equal((await request(port, { path: '/health' })).status, 200);
  }
  t.same(statuses, [200, 503, 200, 503]);
  t.equal(echo.served, 4);
});

t.test('the behaviour can be changed while serving', async (t) => {
  const echo = createEchoServer({ version: 'v1' });
  const port = await started(t, echo);
  t.equal((await request(port, {})).status, 200);
  echo.behaviour.status = 500;
  t.equal((await request(port, {})).status, 500);
  t.equal((await request(port, { path: '/health' })).status, 200, 'health stays up');
});

t.test('close ends connections a client keeps open', async (t) => {
  const echo = createEchoServer({ version: 'v1' });
  const { port } = await echo.listen({ host: '127.0.0.1', port: 0 });
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write('GET / HTTP/1.1\r\nhost: a\r\n\r\n');
  await new Promise((resolve) => socket.once('data', resolve));
  const closed = new Promise((resolve) => socket.once('close', resolve));
  await echo.close();
  await closed;
  t.pass('the kept-alive connection was closed');
});
