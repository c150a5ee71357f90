import { randomBytes, createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import t, { type Test } from 'tap';
import { identityOf } from '../identity/spiffe.js';
import { createTestCa } from '../identity/testing/ca.js';
import { waitFor } from '../xds/testing/wait.js';
import { HboneConnectError, PeerIdentityError } from './errors.js';
import {
  CLIENT_IDENTITY,
  SERVER_IDENTITY,
  digest,
  readAll,
  startPool,
  startServer,
  testCa,
  type ServerFixture,
} from './testing/fixture.js';

// The outbound end against the inbound end, over loopback with real certificates: what a
// tunnel carries, how connections are shared and released, and what the pool refuses.

const STRANGER = identityOf({
  trustDomain: 'cluster.local',
  namespace: 'ns3',
  serviceAccount: 'x',
});

async function connectError(promise: Promise<unknown>): Promise<HboneConnectError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof HboneConnectError) return err;
    throw err;
  }
  throw new Error('connect() resolved; want HboneConnectError');
}

/** Writes `size` random bytes in 1 MiB chunks, honouring backpressure; returns their digest. */
async function sendRandom(stream: Duplex, size: number): Promise<string> {
  const hash = createHash('sha256');
  const chunk = 1024 * 1024;
  for (let sent = 0; sent < size; sent += chunk) {
    const bytes = randomBytes(chunk);
    hash.update(bytes);
    if (!stream.write(bytes)) await once(stream, 'drain');
  }
  stream.end();
  return hash.digest('hex');
}

t.test('a tunnel carries bytes both ways and tells the server who is calling', async (t) => {
  const f = await startServer(t);
  const pool = startPool(t);
  const client = await f.ca.issue(CLIENT_IDENTITY);
  const headers = {
    forwarded: 'for="10.0.0.1"',
    baggage: 'k8s.namespace.name=ns2',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  };
  const stream = await pool.connect(f.target(client, { headers }));
  const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  stream.end(payload);
  t.same(await readAll(stream), payload, 'every byte value comes back unchanged');
  t.equal(f.requests.length, 1);
  const request = f.requests[0];
  t.same(request?.authority, { address: '10.0.0.7', port: 8080, family: 4 });
  t.equal(request?.peerIdentity, CLIENT_IDENTITY);
  t.equal(request?.peerAddress, '127.0.0.1');
  t.same(request?.headers, headers);
});

t.test('64 MiB each way arrive intact through the flow-control windows', async (t) => {
  const f = await startServer(t);
  const pool = startPool(t);
  const stream = await pool.connect(f.target(await f.ca.issue(CLIENT_IDENTITY)));
  const size = 64 * 1024 * 1024;
  const [sent, received] = await Promise.all([sendRandom(stream, size), digest(stream)]);
  t.equal(received.bytes, size);
  t.equal(received.sha256, sent);
});

t.test('a half-closed tunnel still carries the reply', async (t) => {
  const f = await startServer(t, {
    onRequest: (request) => {
      const stream = request.accept();
      void readAll(stream).then((question) => stream.end(`reply to ${question.toString()}`));
    },
  });
  const pool = startPool(t);
  const stream = await pool.connect(f.target(await f.ca.issue(CLIENT_IDENTITY)));
  stream.end('question');
  t.equal((await readAll(stream)).toString(), 'reply to question');
});

t.test('concurrent tunnels to the same peer share one connection', async (t) => {
  const f = await startServer(t);
  const pool = startPool(t);
  const client = await f.ca.issue(CLIENT_IDENTITY);
  const [first, second] = await Promise.all([
    pool.connect(f.target(client)),
    pool.connect(f.target(client)),
  ]);
  t.equal(f.accepted(), 1, 'one TCP connection');
  t.equal(pool.connections(), 1);
  t.equal(f.server.connections(), 1);
  first.end('one');
  second.end('two');
  t.equal((await readAll(first)).toString(), 'one');
  t.equal((await readAll(second)).toString(), 'two');
  const third = await pool.connect(f.target(client));
  third.end('three');
  t.equal((await readAll(third)).toString(), 'three');
  t.equal(f.accepted(), 1, 'a later tunnel reuses the open connection');
});

t.test('a connection carries no more streams than maxStreamsPerConnection', async (t) => {
  const f = await startServer(t);
  const pool = startPool(t, { maxStreamsPerConnection: 1 });
  const client = await f.ca.issue(CLIENT_IDENTITY);
  const tunnels = await Promise.all([
    pool.connect(f.target(client)),
    pool.connect(f.target(client)),
  ]);
  t.equal(f.accepted(), 2);
  t.equal(pool.connections(), 2);
  for (const tunnel of tunnels) tunnel.destroy();
});

t.test('a peer whose identity is not expected is refused before any request', async (t) => {
  const f = await startServer(t);
  const pool = startPool(t);
  const client = await f.ca.issue(CLIENT_IDENTITY);
  const err = await connectError(pool.connect(f.target(client, { peerIdentities: [STRANGER] })));
  t.equal(err.code, 'AMBIT_HBONE_CONNECT');
  t.equal(err.status, undefined);
  t.type(err.cause, PeerIdentityError);
  t.match(err.message, SERVER_IDENTITY, 'the message names the identity presented');
  t.equal(f.requests.length, 0, 'no CONNECT reached the server');
  t.equal(pool.connections(), 0, 'the failed connection left the pool');
});

t.test('a server certificate from another trust domain is refused', async (t) => {
  const f = await startServer(t, { ca: await createTestCa('other.example') });
  const pool = startPool(t);
  const client = await (await testCa()).issue(CLIENT_IDENTITY);
  const err = await connectError(pool.connect(f.target(client)));
  t.equal(err.status, undefined);
  t.match(err.message, /certificate/);
  t.equal(f.requests.length, 0);
});

t.test('a refusal carries the server status', async (t) => {
  const f = await startServer(t, { onRequest: (request) => request.reject(401, 'denied') });
  const pool = startPool(t);
  const client = await f.ca.issue(CLIENT_IDENTITY);
  const err = await connectError(pool.connect(f.target(client)));
  t.equal(err.status, 401);
  t.equal(pool.connections(), 1, 'a refused stream leaves the connection usable');
});

t.test('an authority that is not ip:port is answered 400 without asking the handler', async (t) => {
  const f = await startServer(t);
  const pool = startPool(t);
  const client = await f.ca.issue(CLIENT_IDENTITY);
  for (const authority of ['reviews.default.svc:9080', '10.0.0.7', '10.0.0.7:0', '[::1]:65536']) {
    const err = await connectError(pool.connect(f.target(client, { authority })));
    t.equal(err.status, 400, authority);
  }
  t.equal(f.requests.length, 0);
});

t.test('a connection without streams is closed after the idle timeout', async (t) => {
  const f = await startServer(t);
  const pool = startPool(t, { idleTimeoutMs: 100 });
  const stream = await pool.connect(f.target(await f.ca.issue(CLIENT_IDENTITY)));
  stream.end('x');
  await readAll(stream);
  t.equal(pool.connections(), 1, 'still pooled right after the tunnel ends');
  await waitFor('the idle connection to close', () => pool.connections() === 0);
  await waitFor('the server to see it close', () => f.server.connections() === 0);
  t.pass('both ends closed the idle connection');
});

t.test('a quiet tunnel outlives many ping timeouts', async (t) => {
  const ping = { pingIntervalMs: 25, pingTimeoutMs: 100 };
  const f = await startServer(t, ping);
  const pool = startPool(t, ping);
  const stream = await pool.connect(f.target(await f.ca.issue(CLIENT_IDENTITY)));
  // Time passing is the behaviour under test: ten ping timeouts of silence.
  const start = performance.now();
  await waitFor('ten ping timeouts', () => performance.now() - start > 1000);
  stream.end('still here');
  t.equal((await readAll(stream)).toString(), 'still here');
  t.equal(f.accepted(), 1);
});

/** A TCP relay that can stop forwarding, leaving both connections open and silent. */
async function freezableRelay(
  t: Test,
  f: ServerFixture,
): Promise<{ port: number; freeze(): void }> {
  const links: [Socket, Socket][] = [];
  const relay = createServer((downstream) => {
    const upstream = connect(f.port, '127.0.0.1');
    downstream.on('error', () => {});
    upstream.on('error', () => {});
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    links.push([downstream, upstream]);
  });
  relay.listen(0, '127.0.0.1');
  await once(relay, 'listening');
  t.teardown(() => {
    for (const [a, b] of links) {
      a.destroy();
      b.destroy();
    }
    relay.close();
  });
  return {
    port: (relay.address() as AddressInfo).port,
    freeze: () => {
      for (const [downstream, upstream] of links) {
        downstream.unpipe(upstream);
        upstream.unpipe(downstream);
        downstream.pause();
        upstream.pause();
      }
    },
  };
}

t.test('a peer that stops answering pings is dropped by both ends', async (t) => {
  const ping = { pingIntervalMs: 25, pingTimeoutMs: 100 };
  const f = await startServer(t, ping);
  const relay = await freezableRelay(t, f);
  const pool = startPool(t, ping);
  const target = f.target(await f.ca.issue(CLIENT_IDENTITY), {
    createSocket: () => connect(relay.port, '127.0.0.1'),
  });
  const stream = await pool.connect(target);
  stream.on('error', () => {});
  relay.freeze();
  await waitFor('the pool to drop the silent connection', () => pool.connections() === 0);
  await waitFor('the tunnel to close', () => stream.destroyed);
  await waitFor('the server to drop it too', () => f.server.connections() === 0);
  t.pass('the silent connection is gone on both ends');
});

t.test('a closed pool refuses to connect', async (t) => {
  const f = await startServer(t);
  const pool = startPool(t);
  pool.close();
  const err = await connectError(pool.connect(f.target(await f.ca.issue(CLIENT_IDENTITY))));
  t.match(err.message, /closed/);
  t.equal(f.accepted(), 0);
});
