import t, { type Test } from 'tap';
import { once } from 'node:events';
import type net from 'node:net';
import { HANDSHAKE_TIMEOUT_MS } from '../../core/hbone/settings.js';
import { ip } from '../../local/command.js';
import { startMesh, ZTUNNEL_READINESS_PORT } from '../support/mesh.js';
import { connectIn, exchange, httpGetIn, listenIn } from '../support/netns.js';
import {
  AGENT_ADMIN,
  metricSum,
  openConnections,
  roundTrip,
  scrape,
  scrapeAgent,
  waitEnrolled,
  waitForLogAfter,
  waitForMetric,
  waitUntil,
} from '../support/ztunnel.js';

// Faults around the connections rather than in them: clients that never send, a pod whose
// network namespace vanishes before the agent enrolls it, the control plane going away.
// Each is handled, logged and counted, and a tunnel a client pod holds open throughout keeps
// carrying data.

const AMBIENT = { 'istio.io/dataplane-mode': 'ambient' };
const FAILURES = 'ambit_ztunnel_connection_failures_total';
/** How long a log line or a count may trail an outcome the test has already seen. */
const SETTLE_MS = 2000;

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
  /** An echo server pod on node-2 behind a service of its own name. */
  const addServer = async (name: string) => {
    const pod = await mesh.addPod({
      node: 'node-2',
      namespace: 'demo',
      name,
      labels: { app: name },
      serviceAccount: 'server',
      ports: [8080],
    });
    await listenIn(t, pod.netnsPath, { port: 8080 });
    const service = await mesh.addService({
      namespace: 'demo',
      name,
      selector: { app: name },
      ports: [{ port: 80, targetPort: 8080 }],
    });
    return { pod, service };
  };
  const { pod: far, service: farService } = await addServer('far');
  // Reached for the first time only once the control plane is gone.
  const { pod: spare, service: spareService } = await addServer('spare');
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
    // Tunnels to `far` each node carries: [outbound on node-1, inbound on node-2].
    const carried = async () => [
      (await openConnections(node1)).filter(
        (c) => c.direction === 'outbound' && c.destination === `${farVip.address}:80`,
      ).length,
      (await openConnections(node2)).filter(
        (c) => c.direction === 'inbound' && c.destination === `${far.ip}:8080`,
      ).length,
    ];
    const held = await carried();
    const silent = await connectIn(client.netnsPath, farVip);
    t.teardown(() => silent.destroy());
    let silentClosed = false;
    for (const event of ['end', 'close']) silent.once(event, () => (silentClosed = true));
    const withSilent = held.map((n) => n + 1);
    const same = (a: number[], b: number[]) => a.every((n, i) => n === b[i]);
    // Without a byte sent, the tunnel is up to the app on the other node.
    await waitUntil('both tunnels to carry the silent connection', async () =>
      same(await carried(), withSilent),
    );

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
    const dropped = Promise.all(
      mute.map((socket) => droppedWithin(socket, started, HANDSHAKE_TIMEOUT_MS + 3000)),
    );
    const replies: string[] = [];
    for (let i = 0; i < 20; i++) {
      replies.push(await roundTrip(kept, `held ${i}`));
      replies.push(await exchange(client.netnsPath, farVip, `new ${i}`));
    }
    t.same(
      replies,
      Array.from({ length: 20 }, (_, i) => [`held ${i}`, `new ${i}`]).flat(),
      'meanwhile the held tunnel and 20 new connections carry data',
    );
    const after = await dropped.catch((err: Error) => err);
    if (after instanceof Error) t.fail(`silent HBONE peers are dropped: ${after.message}`);
    else
      t.ok(
        after.every((ms) => ms >= HANDSHAKE_TIMEOUT_MS - 100),
        'silent HBONE peers are dropped at the handshake deadline, not before',
        { after },
      );
    await t.resolves(
      waitForLogAfter(node2.ztunnel!, mark, (l) => /handshake/.test(String(l.msg)), SETTLE_MS),
      'the drop is logged',
    );
    await t.resolves(
      waitForMetric(node2, FAILURES, { direction: 'inbound' }, failures + mute.length, SETTLE_MS),
      'each drop is counted',
    );

    t.notOk(silentClosed, 'the silent captured connection outlived the handshake deadline');
    t.same(await carried(), withSilent, 'both tunnels still carry it');
    const ended = once(silent, 'end');
    silent.end();
    await ended;
    await t.resolves(
      waitUntil('both tunnels to let it go', async () => same(await carried(), held)),
      'once the client closes, both tunnels let the connection go',
    );
  });

  t.test('a pod whose netns vanishes before it is enrolled is forgotten and counted', async (t) => {
    const counted = async () =>
      metricSum(await scrapeAgent(node1), 'ambit_cni_enrollment_failures_total', {
        reason: 'netns_gone',
      });
    const before = await counted();
    // Not in the mesh yet: the CNI ADD records the sandbox and leaves it alone.
    const ghost = await mesh.addPod({ node: 'node-1', namespace: 'late', name: 'ghost' });
    // The agent must have seen the Pod object first: a reconcile that ran after the netns
    // went but before the namespace joined the mesh would forget the sandbox uncounted.
    await waitUntil('the agent to know the pod', async () => {
      const listed = await httpGetIn(node1.netnsPath, `${AGENT_ADMIN}/debug/sandboxes`);
      const { sandboxes } = JSON.parse(listed.body) as {
        sandboxes: { sandbox: { uid: string }; podKnown: boolean }[];
      };
      return sandboxes.some((s) => s.sandbox.uid === ghost.uid && s.podKnown);
    });
    await ip(['netns', 'del', ghost.netns]);
    const mark = node1.agent!.logs.length;
    await mesh.addNamespace('late', AMBIENT);
    await waitForLogAfter(node1.agent!, mark, (l) => l.uid === ghost.uid);
    const sandboxes = await httpGetIn(node1.netnsPath, `${AGENT_ADMIN}/debug/sandboxes`);
    t.notMatch(sandboxes.body, ghost.uid, 'the agent forgot the sandbox');
    const ready = await httpGetIn(node1.netnsPath, `${AGENT_ADMIN}/ready`);
    t.equal(ready.status, 200, 'the agent is still ready');
    await othersUnharmed(t, 'after a vanished netns');
    await t.resolves(
      waitUntil(
        'the failure to be counted',
        async () => (await counted()) === before + 1,
        SETTLE_MS,
      ),
      'the failure is counted as netns_gone',
    );
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
      const line = await waitForLogAfter(node.ztunnel!, marks[i]!, (l) =>
        /^xDS stream/.test(String(l.msg)),
      );
      t.equal(line.level, 'warn', `${node.name} logs the lost xDS stream as a warning`);
      const ready = await httpGetIn(
        node.netnsPath,
        `http://127.0.0.1:${ZTUNNEL_READINESS_PORT}/healthz/ready`,
      );
      t.equal(ready.status, 200, `${node.name} still reports ready`);
    }
    await othersUnharmed(t, 'without a control plane');
    // A destination not reached before: a new HBONE connection, a fresh handshake on both
    // ends with the certificates already held, a route from the last config.
    const spareVip = { address: spareService.clusterIP, port: 80 };
    t.equal(
      await exchange(client.netnsPath, spareVip, 'first time'),
      'first time',
      'a destination not reached before works',
    );
    for (const [i, node] of mesh.nodes.entries())
      await t.resolves(
        waitUntil(
          `${node.name} to count the lost xDS connection`,
          async () => metricSum(await scrape(node), terminations, {}) > before[i]!,
          SETTLE_MS,
        ),
        `${node.name} counts the lost xDS connection (${terminations})`,
      );
  });
});
