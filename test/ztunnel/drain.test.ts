import t from 'tap';
import type net from 'node:net';
import { startMesh } from '../support/mesh.js';
import { connectIn, exchange, listenIn } from '../support/netns.js';
import { waitEnrolled } from '../support/ztunnel.js';

// Graceful drain on SIGTERM: the node tunnel stops accepting, lets open tunnels finish, and
// cuts what is still open at its deadline (--drain-timeout, 5 s by default).

function echoed(socket: net.Socket, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    socket.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    socket.once('error', reject);
    socket.write(message);
  });
}

async function refused(netnsPath: string, to: { address: string; port: number }): Promise<boolean> {
  try {
    await exchange(netnsPath, to, 'new', 2000);
    return false;
  } catch {
    return true;
  }
}

t.test('SIGTERM drains the node tunnel', async (t) => {
  const mesh = await startMesh(t, { nodes: 1 });
  await mesh.addNamespace('demo', { 'istio.io/dataplane-mode': 'ambient' });
  const client = await mesh.addPod({ node: 'node-1', namespace: 'demo', name: 'client' });
  const server = await mesh.addPod({
    node: 'node-1',
    namespace: 'demo',
    name: 'server',
    labels: { app: 'server' },
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
  const vip = { address: service.clusterIP, port: 80 };

  t.test('an open tunnel finishes its work; new connections are refused', async (t) => {
    const open = await connectIn(client.netnsPath, vip);
    t.equal(await echoed(open, 'before'), 'before');
    const ztunnel = mesh.nodes[0]!.ztunnel!;
    const exited = ztunnel.stop(10_000);
    await ztunnel.waitForLog((line) => line.msg === 'draining');
    t.ok(await refused(client.netnsPath, vip), 'a new connection is refused while draining');
    t.equal(await echoed(open, 'during'), 'during', 'the open tunnel still carries bytes');
    const closedAt = performance.now();
    open.end();
    t.equal(await exited, 0, 'ztunnel exits cleanly');
    t.ok(
      performance.now() - closedAt < 4000,
      'as soon as the last tunnel ended, not at the deadline',
    );
    const drained = ztunnel.logs.find((line) => line.msg === 'drained');
    t.match(drained, { finished: true, cut: 0 });
  });

  t.test('a tunnel still open at the deadline is cut', async (t) => {
    const ztunnel = await mesh.restart('node-1', 'ztunnel');
    await mesh.waitReady();
    await waitEnrolled(mesh, [client, server], [service.hostname]);
    const open = await connectIn(client.netnsPath, vip);
    t.equal(await echoed(open, 'hello'), 'hello');
    // Cut means the client sees its connection end (a FIN, or a reset).
    const ended = new Promise<void>((resolve) => {
      open.once('end', () => resolve());
      open.once('error', () => resolve());
    });
    const started = performance.now();
    t.equal(await ztunnel.stop(15_000), 0);
    const took = performance.now() - started;
    t.ok(took >= 4500, `waited for the deadline (${took.toFixed(0)} ms)`);
    await ended;
    open.destroy();
    const drained = ztunnel.logs.find((line) => line.msg === 'drained');
    t.match(drained, { finished: false });
    t.ok(Number(drained?.cut) >= 1, 'the open tunnel was cut');
  });

  t.test('a removed pod is let go at once; its open tunnel drains behind', async (t) => {
    const leaving = await mesh.addPod({
      node: 'node-1',
      namespace: 'demo',
      name: 'leaving',
      ports: [8080],
    });
    await listenIn(t, leaving.netnsPath, { port: 8080 });
    const ztunnel = await mesh.restart('node-1', 'ztunnel');
    await mesh.waitReady();
    await waitEnrolled(mesh, [client, leaving]);
    const open = await connectIn(client.netnsPath, { address: leaving.ip, port: 8080 });
    t.teardown(() => open.destroy());
    open.on('error', () => undefined);
    t.equal(await echoed(open, 'hello'), 'hello');
    // The agent waits for ztunnel's answer before it finishes the pod's CNI DEL; an answer
    // held back until the tunnel drains (up to 5 s) would outlast the agent's patience.
    const started = performance.now();
    await mesh.removePod(leaving);
    const took = performance.now() - started;
    t.ok(took < 2500, `the pod was removed in ${took.toFixed(0)} ms, not after the drain`);
    const agent = mesh.nodes[0]!.agent!;
    t.notOk(
      agent.logs.some(
        (line) => line.msg === 'ztunnel did not ack in time; dropping the connection',
      ),
      'the agent had its answer in time',
    );
    t.equal(ztunnel.child.exitCode, null, 'ztunnel is still running');
    await ztunnel.waitForLog(
      (line) => line.msg === 'pod drained' && line.workload === 'demo/leaving',
      10_000,
    );
  });
});
