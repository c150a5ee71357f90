import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import t from 'tap';
import { pipeBoth } from '../../core/hbone/pipe.js';
import { HbonePool } from '../../core/hbone/pool.js';
import { HboneServer, type HboneRequest } from '../../core/hbone/server.js';
import { readAll, testCa } from '../../core/hbone/testing/fixture.js';
import { identityOf, type Identity } from '../../core/identity/spiffe.js';
import { silentLogger } from '../../core/telemetry/log.js';
import type { WorkloadCredentials } from '../../core/identity/credentials.js';
import { WaypointState } from '../state.js';
import { WaypointProxy } from './proxy.js';
import type { RequestRecord } from './record.js';
import {
  cluster,
  endpoint,
  ENDPOINT_IDENTITY,
  route,
  service,
  SOURCE_IDENTITY,
  startApp,
  VIP,
  WAYPOINT,
} from './testing/harness.js';
import { MeshTunnels } from './tunnels.js';

// The waypoint's proxy core end to end over real HBONE on loopback: a client tunnels to the
// waypoint with its own certificate, the waypoint routes and tunnels to the endpoint's node
// tunnel (an HboneServer that connects each tunnel to the app, as ztunnel's inbound does)
// with the waypoint's certificate.

const WAYPOINT_IDENTITY = identityOf({
  trustDomain: 'cluster.local',
  namespace: 'demo',
  serviceAccount: 'waypoint',
});

/**
 * An HBONE server on loopback that serves every endpoint, as their node tunnel would. The
 * caller drains it while its clients are still connected.
 */
async function startNodeTunnel(credentials: WorkloadCredentials) {
  const peers: Identity[] = [];
  const server = new HboneServer({
    credentials: () => credentials,
    onRequest: (request: HboneRequest) => {
      peers.push(request.peerIdentity);
      const app = connect({ host: '127.0.0.1', port: request.authority.port, allowHalfOpen: true });
      app.once('connect', () => void pipeBoth(request.accept(), app).catch(() => undefined));
      app.once('error', () => request.reject(503, 'app refused'));
    },
    logger: silentLogger(),
  });
  const listener = createServer({ allowHalfOpen: true }, (socket) => server.handle(socket));
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  return {
    port: (listener.address() as AddressInfo).port,
    peers,
    close: async () => {
      listener.close();
      await server.drain(0);
    },
  };
}

interface Reply {
  status: number;
  body: string;
}

t.test('the waypoint routes HTTP between HBONE tunnels', async (t) => {
  const ca = await testCa();
  const [waypointCredentials, endpointCredentials, clientCredentials] = await Promise.all([
    ca.issue(WAYPOINT_IDENTITY),
    ca.issue(ENDPOINT_IDENTITY as Identity),
    ca.issue(SOURCE_IDENTITY),
  ]);
  const node = await startNodeTunnel(endpointCredentials);

  const named = (name: string) => startApp(t, (_req, res) => res.end(name));
  const [v1, v2] = await Promise.all([named('v1'), named('v2')]);
  const flaky = await startApp(t, (_req, res, index) => {
    res.statusCode = index % 3 < 2 ? 503 : 200;
    res.end(`attempt ${index}`);
  });
  const slow = await startApp(t, () => {
    // Never answers.
  });
  const v1Cluster = cluster([endpoint(v1.port)], { subset: 'v1' });
  const v2Cluster = cluster([endpoint(v2.port)], { subset: 'v2' });
  const flakyCluster = cluster([endpoint(flaky.port)], { subset: 'flaky' });
  const slowCluster = cluster([endpoint(slow.port)], { subset: 'slow' });
  const config = service(
    [v1Cluster, v2Cluster, flakyCluster, slowCluster],
    [
      route([slowCluster], { matches: [{ uri: { prefix: '/slow' } }], timeoutMs: 200 }),
      route([flakyCluster], {
        matches: [{ uri: { prefix: '/flaky' } }],
        retries: {
          attempts: 2,
          retryOn: ['retriable-status-codes'],
          retriableStatusCodes: [503],
          backoffBaseMs: 5,
        },
      }),
      route(
        {
          kind: 'route',
          // Weights need not sum to 100: 3 to 1.
          destinations: [
            { cluster: v1Cluster.name, weight: 3 },
            { cluster: v2Cluster.name, weight: 1 },
          ],
        },
        { matches: [{ uri: { prefix: '/split' } }] },
      ),
    ],
  );

  const state = new WaypointState({ waypoint: WAYPOINT, clock: { now: () => performance.now() } });
  state.apply(new Map([['demo/echo', config]]), []);
  const upstreamPool = new HbonePool({ logger: silentLogger() });
  const records: RequestRecord[] = [];
  const proxy = new WaypointProxy({
    state,
    tunnels: new MeshTunnels({
      pool: upstreamPool,
      credentials: async () => waypointCredentials,
      port: node.port,
    }),
    logger: silentLogger(),
    onRequestDone: (record) => records.push(record),
  });
  const waypoint = new HboneServer({
    credentials: () => waypointCredentials,
    onRequest: (request) => proxy.handleTunnel(request),
    logger: silentLogger(),
  });
  const listener = createServer({ allowHalfOpen: true }, (socket) => waypoint.handle(socket));
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const waypointPort = (listener.address() as AddressInfo).port;
  const clientPool = new HbonePool({ logger: silentLogger() });
  // Each HBONE server drains while its clients are still there to answer the GOAWAY.
  t.teardown(async () => {
    listener.close();
    proxy.drain();
    await waypoint.drain(0);
    clientPool.close();
    proxy.close();
    await node.close();
    upstreamPool.close();
  });

  /** One HTTP/1.1 request in its own tunnel to the service VIP, as a client's ztunnel sends it. */
  const request = async (path: string): Promise<Reply> => {
    const stream = await clientPool.connect({
      source: clientCredentials,
      peer: { address: '127.0.0.1', port: waypointPort },
      peerIdentities: [WAYPOINT_IDENTITY],
      authority: `${VIP}:80`,
      headers: { forwarded: 'for="10.0.0.5"' },
      createSocket: () => connect(waypointPort, '127.0.0.1'),
    });
    stream.write(`GET ${path} HTTP/1.1\r\nhost: echo\r\nconnection: close\r\n\r\n`);
    const raw = (await readAll(stream)).toString('latin1');
    const [head = '', body = ''] = raw.split('\r\n\r\n');
    return { status: Number(head.split(' ')[1]), body };
  };

  await t.test('weights split traffic 3 to 1', async (t) => {
    const counts = { v1: 0, v2: 0 };
    for (let i = 0; i < 200; i++) {
      const reply = await request('/split');
      t.equal(reply.status, 200);
      counts[reply.body as 'v1' | 'v2']++;
    }
    t.ok(counts.v1 >= 120 && counts.v1 <= 180, `v1 took ${counts.v1} of 200`);
    t.equal(counts.v1 + counts.v2, 200);
    t.ok(v1.connections() <= 2, 'upstream HTTP connections were reused');
    t.ok(
      node.peers.every((peer) => peer === WAYPOINT_IDENTITY),
      "the waypoint's own identity",
    );
    t.match(records.at(-1), { sourceAddress: '10.0.0.5', sourceIdentity: SOURCE_IDENTITY });
  });

  await t.test('a 503 from a flaky endpoint is retried', async (t) => {
    const reply = await request('/flaky');
    t.equal(reply.status, 200);
    t.equal(reply.body, 'attempt 2');
    t.match(records.at(-1), { status: 200, attempts: 3, flags: [] });
  });

  await t.test('a slow endpoint times out with 504 UT', async (t) => {
    const reply = await request('/slow');
    t.equal(reply.status, 504);
    t.equal(reply.body, 'upstream request timeout');
    t.match(records.at(-1), { status: 504, flags: ['UT'] });
  });

  await t.test('a request no route matches is a 404 NR', async (t) => {
    const reply = await request('/nothing');
    t.equal(reply.status, 404);
    t.match(records.at(-1), { status: 404, flags: ['NR'] });
  });
});
