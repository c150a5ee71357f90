import { once } from 'node:events';
import { connect as connectHttp2, type IncomingHttpHeaders } from 'node:http2';
import t from 'tap';
import { identityOf, type Identity } from '../identity/spiffe.js';
import { createTestCa } from '../identity/testing/ca.js';
import { waitFor } from '../xds/testing/wait.js';
import { silentLogger } from '../telemetry/log.js';
import { HboneConnectError } from './errors.js';
import { HbonePool } from './pool.js';
import {
  CLIENT_IDENTITY,
  readAll,
  startPool,
  startServer,
  type ServerFixture,
} from './testing/fixture.js';
import type { WorkloadCredentials } from './credentials.js';

// The inbound end: who may connect, what it answers without asking the handler, how its
// certificate renews and how it drains. Clients are the pool, or a bare HTTP/2 client where
// the pool would never send what is tested.

async function refused(f: ServerFixture, client: WorkloadCredentials): Promise<HboneConnectError> {
  const pool = new HbonePool({ logger: silentLogger() });
  try {
    await pool.connect(f.target(client));
  } catch (err) {
    if (err instanceof HboneConnectError) return err;
    throw err;
  } finally {
    pool.close();
  }
  throw new Error('connect() resolved; want HboneConnectError');
}

t.test('a client certificate from another trust domain is refused', async (t) => {
  const f = await startServer(t);
  const other = await (await createTestCa('other.example')).issue(CLIENT_IDENTITY);
  // It trusts the server, so only the server's check of the client can fail.
  const err = await refused(f, { ...other, roots: f.ca.roots });
  t.equal(err.status, undefined);
  t.equal(f.accepted(), 1, 'the TCP connection was made');
  t.equal(f.requests.length, 0, 'no request reached the handler');
  await waitFor('no connection left on the server', () => f.server.connections() === 0);
});

t.test('an expired client certificate is refused', async (t) => {
  const f = await startServer(t);
  const expired = await f.ca.issue(CLIENT_IDENTITY, { notAfter: new Date(Date.now() - 60_000) });
  const err = await refused(f, expired);
  t.equal(err.status, undefined);
  t.equal(f.requests.length, 0);
});

t.test('a client certificate without a workload identity is refused', async (t) => {
  const f = await startServer(t);
  const anonymous = await f.ca.issue('spiffe://cluster.local/not/a/workload' as Identity);
  await refused(f, anonymous);
  t.equal(f.requests.length, 0);
  await waitFor('no connection left on the server', () => f.server.connections() === 0);
});

t.test('a server with no certificate yet refuses connections', async (t) => {
  const f = await startServer(t);
  f.setCredentials(undefined);
  await refused(f, await f.ca.issue(CLIENT_IDENTITY));
  t.equal(f.accepted(), 1);
  t.equal(f.requests.length, 0);
});

t.test('a renewed certificate serves the next handshake', async (t) => {
  const f = await startServer(t);
  const pool = startPool(t);
  const client = await f.ca.issue(CLIENT_IDENTITY);
  const first = await pool.connect(f.target(client));
  first.destroy();
  const renamed = identityOf({
    trustDomain: 'cluster.local',
    namespace: 'ns1',
    serviceAccount: 'new',
  });
  f.setCredentials(await f.ca.issue(renamed));
  const second = await pool.connect(f.target(client, { peerIdentities: [renamed] }));
  second.end('after renewal');
  t.equal((await readAll(second)).toString(), 'after renewal');
  t.equal(f.accepted(), 2);
});

t.test('a request that is not CONNECT is answered 400 without asking the handler', async (t) => {
  const f = await startServer(t);
  const client = await f.ca.issue(CLIENT_IDENTITY);
  const session = connectHttp2(`https://127.0.0.1:${f.port}`, {
    cert: client.chain.join('\n'),
    key: client.key,
    ca: client.roots,
    minVersion: 'TLSv1.3',
    checkServerIdentity: () => undefined,
  });
  t.teardown(() => session.destroy());
  const stream = session.request({ ':method': 'GET', ':path': '/' });
  const [headers] = (await once(stream, 'response')) as [IncomingHttpHeaders];
  t.equal(headers[':status'], 400);
  t.equal(f.requests.length, 0);
});

t.test('a handler that throws is answered 503', async (t) => {
  const f = await startServer(t, {
    onRequest: () => {
      throw new Error('handler bug');
    },
  });
  const err = await refused(f, await f.ca.issue(CLIENT_IDENTITY));
  t.equal(err.status, 503);
});

t.test('drain lets an open tunnel finish, then closes', async (t) => {
  const f = await startServer(t);
  const pool = startPool(t);
  const client = await f.ca.issue(CLIENT_IDENTITY);
  const stream = await pool.connect(f.target(client));
  stream.write('before ');
  await once(stream, 'readable');
  const drained = f.server.drain(10_000);
  await waitFor('the pool to see the GOAWAY', () => pool.connections() === 0);
  const err = await refused(f, client);
  t.equal(err.status, undefined, 'a new connection is refused while draining');
  stream.end('after');
  t.equal((await readAll(stream)).toString(), 'before after', 'the open tunnel finished');
  await drained;
  t.equal(f.server.connections(), 0);
});

t.test('drain cuts tunnels still open at the deadline', async (t) => {
  const f = await startServer(t);
  const pool = startPool(t);
  const stream = await pool.connect(f.target(await f.ca.issue(CLIENT_IDENTITY)));
  stream.on('error', () => {});
  await f.server.drain(50);
  t.equal(f.server.connections(), 0);
  await waitFor('the client side of the tunnel to close', () => stream.destroyed);
  t.pass('the tunnel was cut');
});
