import t, { type Test } from 'tap';
import { once } from 'node:events';
import type net from 'node:net';
import { HANDSHAKE_TIMEOUT_MS } from '../../core/hbone/settings.js';
import { ip } from '../../local/command.js';
import { startMesh } from '../support/mesh.js';
import { connectIn, exchange, httpGetIn, listenIn } from '../support/netns.js';
import {
  metricSum,
  openConnections,
  roundTrip,
  scrape,
  scrapeAgent,
  waitEnrolled,
  waitForLogAfter,
  waitForMetric,
} from '../support/ztunnel.js';

// Faults around the connections rather than in them: clients that never send, a pod whose
// network namespace vanishes before the agent enrolls it, the control plane going away.
// Each is handled, logged and counted, and a tunnel a client pod holds open throughout keeps
// carrying data.

const AMBIENT = { 'istio.io/dataplane-mode': 'ambient' };
const FAILURES = 'ambit_ztunnel_connection_failures_total';

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Resolves with the ms from `since` until the peer hung up (the socket is half-open, so the
 * peer's FIN shows as 'end'), or rejects at the deadline.
 */
function droppedWithin(socket: net.Socket, since: number, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`still open after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const dropped = () => {
      clearTimeout(timer);
      resolve(performance.now() - since);
    };
    socket.once('end', dropped);
    socket.once('close', dropped);
  });
}

t.test('a node tunnel rides out faults around its connections', async (t) => {
  const mesh = await startMesh(t, { nodes: 2 });
  await mesh.addNamespace('demo', AMBIENT);
  await mesh.addNamespace('late');
  const client = await mesh.addPod({
    node: 'node-1',
    namespace: 'demo',
    name: 'client',
    serviceAccount: 'client',
  });
  const pods = [];
  const services = [];
  for (const name of ['far', 'spare']) {
    const pod = await mesh.addPod({
      node: 'node-2',
      namespace: 'demo',
      name,
      labels: { app: name },
      serviceAccount: 'server',
      ports: [8080],
    });
    await listenIn(t, pod.netnsPath, { port: 8080 });
    pods.push(pod);
    services.push(
      await mesh.addService({
        namespace: 'demo',
        name,
        selector: { app: name },
        ports: [{ port: 80, targetPort: 8080 }],
      }),
    );
  }
  const [far, spare] = pods as [(typeof pods)[number], (typeof pods)[number]];
  const [farService, spareService] = services as [
    (typeof services)[number],
    (typeof services)[number],
  ];
  await mesh.waitReady();
  await waitEnrolled(mesh, [client, far, spare], [farService.hostname, spareService.hostname]);
  const node1 = mesh.nodes[0]!;
  const node2 = mesh.nodes[1]!;
  const farVip = { address: farService.clusterIP, port: 80 };

  const kept = await connectIn(client.netnsPath, farVip);
  t.teardown(() => kept.destroy());
  t.equal(await roundTrip(kept, 'opened'), 'opened', 'a client pod holds a tunnel open');
  const othersUnharmed = async (t: Test, what: string) => {
    t.equal(await roundTrip(kept, what), what, 'the tunnel held open still carries data');
    t.equal(await exchange(client.netnsPath, farVip, what), what, 'a new connection works');
  };

  t.test('clients that never send', async (t) => {
    const silent = await connectIn(client.netnsPath, farVip);
    t.teardown(() => silent.destroy());
    let silentClosed = false;
    silent.once('close', () => (silentClosed = true));
    const carried = async () =>
      (await openConnections(node1)).some(
        (c) => c.direction === 'outbound' && c.destination === `${farVip.address}:80`,
      ) &&
      (await openConnections(node2)).some(
        (c) => c.direction === 'inbound' && c.destination === `${far.ip}:8080`,
      );
    // Without a byte sent, the tunnel is up to the app on the other node.
    await until('both tunnels to carry the silent connection', carried);

    const failures = metricSum(await scrape(node2), FAILURES, { direction: 'inbound' });
    const mark = node2.ztunnel!.logs.length;
    const started = performance.now();
    // Peers that open the HBONE port and never start TLS.
    const mute = await Promise.all(
      Array.from({ length: 10 }, () =>
        connectIn(node2.netnsPath, { address: far.ip, port: 15008 }),
      ),
    );
    for (const socket of mute) {
      socket.on('error', () => socket.destroy());
      t.teardown(() => socket.destroy());
    }
    const dropped = mute.map((s) => droppedWithin(s, started, HANDSHAKE_TIMEOUT_MS + 5000));
    for (let i = 0; i < 20; i++) await othersUnharmed(t, `while they wait ${i}`);
    const after = await Promise.all(dropped);
    t.ok(
      after.every((ms) => ms >= HANDSHAKE_TIMEOUT_MS - 100),
      'no silent HBONE peer is dropped before the handshake deadline',
      { after },
    );
    await waitForLogAfter(node2.ztunnel!, mark, (l) => /handshake/.test(String(l.msg)));
    await waitForMetric(node2, FAILURES, { direction: 'inbound' }, failures + mute.length);

    t.notOk(silentClosed, 'the silent captured connection outlived the handshake deadline');
    t.ok(await carried(), 'both tunnels still carry it');
    silent.end();
    await once(silent, 'end');
    await until('both tunnels to let it go', async () => !(await carried()));
  });

  t.test('a pod whose netns vanishes before it is enrolled is forgotten and counted', async (t) => {
    const counted = async () =>
      metricSum(await scrapeAgent(node1), 'ambit_cni_enrollment_failures_total', {
        reason: 'netns_gone',
      });
    const before = await counted();
    // Not in the mesh yet: the CNI ADD records the sandbox and leaves it alone.
    const ghost = await mesh.addPod({ node: 'node-1', namespace: 'late', name: 'ghost' });
    await ip(['netns', 'del', ghost.netns]);
    const mark = node1.agent!.logs.length;
    await mesh.addNamespace('late', AMBIENT);
    await waitForLogAfter(node1.agent!, mark, (l) => l.uid === ghost.uid);
    await until('the failure to be counted', async () => (await counted()) === before + 1);
    const sandboxes = await httpGetIn(node1.netnsPath, 'http://127.0.0.1:8000/debug/sandboxes');
    t.notMatch(sandboxes.body, ghost.uid, 'the agent forgot the sandbox');
    const ready = await httpGetIn(node1.netnsPath, 'http://127.0.0.1:8000/ready');
    t.equal(ready.status, 200, 'the agent is still ready');
    await othersUnharmed(t, 'after a vanished netns');
  });

  // Last: the control plane does not come back.
  t.test('with the control plane gone, ztunnel serves on with what it has', async (t) => {
    const marks = mesh.nodes.map((n) => n.ztunnel!.logs.length);
    const terminations = 'istio_xds_connection_terminations_total';
    const before = await Promise.all(
      mesh.nodes.map(async (n) => metricSum(await scrape(n), terminations, {})),
    );
    const cp = mesh.controlPlane.process.child;
    cp.kill('SIGKILL');
    if (cp.exitCode === null && cp.signalCode === null) await once(cp, 'exit');

    for (const [i, node] of mesh.nodes.entries()) {
      await waitForLogAfter(node.ztunnel!, marks[i]!, (l) =>
        /xDS stream (ended|refused)/.test(String(l.msg)),
      );
      await until(
        `${node.name} to count the lost xDS connection`,
        async () => metricSum(await scrape(node), terminations, {}) > before[i]!,
      );
      const ready = await httpGetIn(node.netnsPath, 'http://127.0.0.1:15021/healthz/ready');
      t.equal(ready.status, 200, `${node.name} still reports ready`);
    }
    await othersUnharmed(t, 'without a control plane');
    // A destination not reached before: a new HBONE connection, a fresh handshake on both
    // ends with the certificates already held, a route from the last config.
    const spareVip = { address: spareService.clusterIP, port: 80 };
    t.equal(await exchange(client.netnsPath, spareVip, 'first time'), 'first time');
  });
});
