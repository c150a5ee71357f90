import t, { type Test } from 'tap';
import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { HboneConnectError, HbonePool, type TunnelTarget } from '../../core/hbone/pool.js';
import { HboneServer } from '../../core/hbone/server.js';
import type { WorkloadCredentials } from '../../core/identity/credentials.js';
import { parseIdentity } from '../../core/identity/spiffe.js';
import { createTestCa } from '../../core/identity/testing/ca.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { waitFor } from '../../core/xds/testing/wait.js';
import { startMesh } from '../support/mesh.js';
import { connectIn, exchange, listenIn } from '../support/netns.js';
import {
  configDump,
  dialFrom,
  meshCertificate,
  metricSum,
  roundTrip,
  scrape,
  waitEnrolled,
  waitForLogAfter,
  waitForMetric,
  waitUntil,
} from '../support/ztunnel.js';

// Peers a node tunnel must refuse, each played by hand from the test process against a real
// two-node mesh: a certificate from another trust domain, an expired one, a server with the
// wrong identity, CONNECTs to ports that are not the app's. Each refusal is logged and
// counted, and a tunnel a real client pod holds open meanwhile keeps carrying data.

const FAILURES = 'ambit_ztunnel_connection_failures_total';
/** A refused handshake is seen by the client within this long (the ping timeout is 30 s). */
const REFUSAL_DEADLINE_MS = 3000;
/** How long a log line or a count may trail an outcome the test has already seen. */
const SETTLE_MS = 2000;
const identity = (sa: string) => parseIdentity(`spiffe://cluster.local/ns/demo/sa/${sa}`);

t.test('a node tunnel refuses peers it must not trust', async (t) => {
  const mesh = await startMesh(t, { nodes: 2 });
  await mesh.addNamespace('demo', { 'istio.io/dataplane-mode': 'ambient' });
  const client = await mesh.addPod({
    node: 'node-1',
    namespace: 'demo',
    name: 'client',
    serviceAccount: 'client',
  });
  const server = await mesh.addPod({
    node: 'node-2',
    namespace: 'demo',
    name: 'server',
    labels: { app: 'server' },
    serviceAccount: 'server',
    ports: [8080],
  });
  // Announced to the mesh as captured (so clients tunnel to its 15008 expecting the server
  // identity) but served by no node tunnel: whoever answers there is an impostor.
  const impostor = await mesh.addPod({
    node: 'node-2',
    namespace: 'demo',
    name: 'impostor',
    labels: { 'istio.io/dataplane-mode': 'none' },
    annotations: { 'ambient.istio.io/redirection': 'enabled' },
    serviceAccount: 'server',
    ports: [8080],
  });
  const service = await mesh.addService({
    namespace: 'demo',
    name: 'server',
    selector: { app: 'server' },
    ports: [{ port: 80, targetPort: 8080 }],
  });
  await listenIn(t, server.netnsPath, { port: 8080 });
  await mesh.waitReady();
  await waitEnrolled(mesh, [client, server], [service.hostname]);
  const node1 = mesh.nodes[0]!;
  const node2 = mesh.nodes[1]!;
  const meshRoot = await readFile(mesh.controlPlane.rootCertFile, 'utf8');
  const vip = { address: service.clusterIP, port: 80 };

  const kept = await connectIn(client.netnsPath, vip);
  t.teardown(() => kept.destroy());
  t.equal(await roundTrip(kept, 'opened'), 'opened', 'a client pod holds a tunnel open');
  const othersUnharmed = async (t: Test, what: string) => {
    t.equal(await roundTrip(kept, what), what, 'the tunnel held open still carries data');
    t.equal(await exchange(client.netnsPath, vip, what), what, 'a new connection works');
  };

  /** A tunnel to the server pod's 15008 from node-2's namespace, as `source`. */
  const toServer = (source: WorkloadCredentials, port: number): TunnelTarget => ({
    source,
    peer: { address: server.ip, port: 15008 },
    peerIdentities: [identity('server')],
    authority: `${server.ip}:${port}`,
    createSocket: dialFrom(node2.netnsPath, { address: server.ip, port: 15008 }),
  });
  const newPool = (t: Test) => {
    const pool = new HbonePool({ logger: silentLogger() });
    t.teardown(() => pool.close());
    return pool;
  };
  const outcome = (attempt: Promise<Duplex>) =>
    attempt.then(
      (stream) => {
        stream.destroy();
        return { status: 200 };
      },
      (err: unknown) => {
        if (!(err instanceof HboneConnectError)) throw err;
        return { status: err.status };
      },
    );
  const inboundFailures = async () =>
    metricSum(await scrape(node2), FAILURES, { direction: 'inbound' });

  /**
   * The server's tunnel must end the connection at the TLS handshake, promptly: no HTTP
   * answer, a log line naming why, a count.
   */
  const refusedAtHandshake = async (t: Test, source: WorkloadCredentials, why: RegExp) => {
    const failures = await inboundFailures();
    const mark = node2.ztunnel!.logs.length;
    const pool = newPool(t);
    const started = performance.now();
    // Past the deadline the pool is closed, which fails the attempt at once.
    const deadline = setTimeout(() => pool.close(), REFUSAL_DEADLINE_MS);
    const { status } = await outcome(pool.connect(toServer(source, 8080)));
    clearTimeout(deadline);
    const ms = performance.now() - started;
    t.equal(status, undefined, 'refused before any CONNECT was answered');
    t.ok(
      ms < REFUSAL_DEADLINE_MS,
      `the client learns of the refusal at once (${ms.toFixed(0)} ms)`,
    );
    const line = await waitForLogAfter(
      node2.ztunnel!,
      mark,
      (l) => /^HBONE (connection refused|handshake failed)/.test(String(l.msg)),
      SETTLE_MS,
    ).catch(() => undefined);
    t.match(JSON.stringify(line ?? 'nothing'), why, 'the refusal is logged with its reason');
    await t.resolves(
      waitForMetric(node2, FAILURES, { direction: 'inbound' }, failures + 1, SETTLE_MS),
      `the refusal is counted in ${FAILURES}`,
    );
  };

  t.test('a certificate from another trust domain is refused at the handshake', async (t) => {
    const foreign = await createTestCa('other.example');
    const issued = await foreign.issue(parseIdentity('spiffe://other.example/ns/demo/sa/client'));
    // It trusts the mesh root, so it is the server that refuses, not this client.
    await refusedAtHandshake(
      t,
      { ...issued, roots: meshRoot },
      /SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT/,
    );
    await othersUnharmed(t, 'after a foreign trust domain');
  });

  t.test('an expired certificate from the mesh CA is refused at the handshake', async (t) => {
    const expired = await meshCertificate(mesh, node1, identity('client'), { ttlSeconds: 1 });
    // X.509 times are whole seconds: a second past notAfter it is expired on any rounding.
    await waitFor(
      'the certificate to expire',
      () => Date.now() > expired.notAfter.getTime() + 1000,
    );
    await refusedAtHandshake(t, expired, /CERT_HAS_EXPIRED/);
    await othersUnharmed(t, 'after an expired certificate');
  });

  t.test(
    "a server with another workload's certificate is refused by the client's tunnel",
    async (t) => {
      // A genuine mesh certificate, but for the client's identity, not the impostor pod's.
      const wrong = await meshCertificate(mesh, node1, identity('client'));
      let presented: WorkloadCredentials = wrong;
      const fake = new HboneServer({
        credentials: () => presented,
        onRequest: (request) => {
          const stream = request.accept();
          stream.on('error', () => stream.destroy());
          stream.pipe(stream);
        },
        logger: silentLogger(),
      });
      await listenIn(t, impostor.netnsPath, { port: 15008 }, (socket) => fake.handle(socket));
      await waitUntil('node-1 to know the impostor pod', async () =>
        (await configDump(node1)).workloads.some((w) => w.name === impostor.name),
      );
      const destination = { address: impostor.ip, port: 8080 };
      const failures = metricSum(await scrape(node1), FAILURES, { direction: 'outbound' });
      const mark = node1.ztunnel!.logs.length;

      const refused = await exchange(client.netnsPath, destination, 'to the impostor').catch(
        (err: NodeJS.ErrnoException) => err,
      );
      t.match(refused, { code: 'ECONNRESET' }, 'the client pod sees its connection reset');
      const line = await waitForLogAfter(
        node1.ztunnel!,
        mark,
        (l) => l.msg === 'outbound connection failed' && l.dst === `${impostor.ip}:8080`,
        SETTLE_MS,
      ).catch(() => undefined);
      t.match(
        JSON.stringify(line ?? 'nothing'),
        identity('client'),
        'the log names the identity presented',
      );
      await t.resolves(
        waitForMetric(node1, FAILURES, { direction: 'outbound' }, failures + 1, SETTLE_MS),
        'the refusal is counted',
      );
      await othersUnharmed(t, 'after an impostor');

      // Control: the same peer with the identity the mesh announced for it is accepted.
      presented = await meshCertificate(mesh, node2, identity('server'));
      t.equal(
        await exchange(client.netnsPath, destination, 'genuine'),
        'genuine',
        'the same peer presenting the identity the mesh announced is accepted',
      );
    },
  );

  t.test("a CONNECT to one of the tunnel's own ports is answered 400", async (t) => {
    const valid = await meshCertificate(mesh, node1, identity('client'));
    const pool = newPool(t);
    const before = await scrape(node2);
    const mark = node2.ztunnel!.logs.length;
    for (const port of [15001, 15006, 15008]) {
      t.same(await outcome(pool.connect(toServer(valid, port))), { status: 400 }, `port ${port}`);
      await t.resolves(
        waitForLogAfter(
          node2.ztunnel!,
          mark,
          (l) =>
            l.msg === 'inbound connection refused' &&
            l.status === 400 &&
            l.dst === `${server.ip}:${port}`,
          SETTLE_MS,
        ),
        'the refusal is logged',
      );
    }
    const labels = { direction: 'inbound', reason: 'bad_request' };
    await t.resolves(
      waitForMetric(node2, FAILURES, labels, metricSum(before, FAILURES, labels) + 3, SETTLE_MS),
      'each refusal is counted',
    );
    // Control: the same identity on the same connection reaches the app.
    const stream = await pool.connect(toServer(valid, 8080));
    stream.end('app port');
    const reply: Buffer[] = [];
    for await (const chunk of stream) reply.push(chunk as Buffer);
    t.equal(Buffer.concat(reply).toString(), 'app port', 'the same identity reaches the app port');
    await othersUnharmed(t, 'after CONNECTs to illegal ports');
  });

  t.test('a CONNECT to port 0 is answered 400, logged and counted', async (t) => {
    const valid = await meshCertificate(mesh, node1, identity('client'));
    const failures = await inboundFailures();
    const mark = node2.ztunnel!.logs.length;
    t.same(await outcome(newPool(t).connect(toServer(valid, 0))), { status: 400 }, 'answered 400');
    await t.resolves(
      waitForLogAfter(
        node2.ztunnel!,
        mark,
        (l) => JSON.stringify(l).includes(`${server.ip}:0`),
        SETTLE_MS,
      ),
      'the refusal is logged with the authority asked for',
    );
    await t.resolves(
      waitForMetric(node2, FAILURES, { direction: 'inbound' }, failures + 1, SETTLE_MS),
      'the refusal is counted',
    );
    await othersUnharmed(t, 'after a CONNECT to port 0');
  });
});
