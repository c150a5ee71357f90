import t from 'tap';
import { captureState } from '../../cni/rules/capture.js';
import { startMesh, type MeshPod } from '../support/mesh.js';
import { connectIn, exchange, listenIn } from '../support/netns.js';
import { configDump, metricSum, scrape, waitEnrolled } from '../support/ztunnel.js';

// Joining and leaving the mesh without a restart, and the node's own programs restarting
// under running pods: rules and enrollment converge, connections keep working.

async function until(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const AMBIENT = { 'istio.io/dataplane-mode': 'ambient' };
const OPENED = 'istio_tcp_connections_opened_total';

t.test('enrollment follows the labels and survives restarts', async (t) => {
  const mesh = await startMesh(t, { nodes: 2 });
  await mesh.addNamespace('demo', AMBIENT);
  await mesh.addNamespace('late');
  const server = await mesh.addPod({
    node: 'node-2',
    namespace: 'demo',
    name: 'server',
    labels: { app: 'server' },
    serviceAccount: 'server',
    ports: [8080],
  });
  const client = await mesh.addPod({ node: 'node-1', namespace: 'demo', name: 'client' });
  const late = await mesh.addPod({ node: 'node-1', namespace: 'late', name: 'late' });
  const service = await mesh.addService({
    namespace: 'demo',
    name: 'server',
    selector: { app: 'server' },
    ports: [{ port: 80, targetPort: 8080 }],
  });
  await listenIn(t, server.netnsPath, { port: 8080 });
  await mesh.waitReady();
  await waitEnrolled(mesh, [server, client], [service.hostname]);
  const [node1] = mesh.nodes;
  const vip = { address: service.clusterIP, port: 80 };
  const enrolledOn = async (pod: MeshPod) =>
    (await configDump(mesh.nodes.find((n) => n.name === pod.node)!)).pods.some(
      (p) => p.uid === pod.uid,
    );
  const fromLate = { reporter: 'source', source_workload: 'late' };

  t.test('a pod outside the mesh has no capture rules and speaks plain TCP', async (t) => {
    t.equal(await captureState(late.netnsPath), 'absent');
    t.equal(await exchange(late.netnsPath, { address: server.ip, port: 8080 }, 'plain'), 'plain');
    t.equal(metricSum(await scrape(node1!), OPENED, fromLate), 0, 'ztunnel carried nothing for it');
  });

  t.test('labelling its namespace captures the next connection, no restart', async (t) => {
    await mesh.addNamespace('late', AMBIENT);
    await until(
      'late enrolled',
      async () => (await captureState(late.netnsPath)) === 'installed' && (await enrolledOn(late)),
    );
    await waitEnrolled(mesh, [late]);
    // The VIP is reachable only through capture: nothing else routes it.
    t.equal(await exchange(late.netnsPath, vip, 'captured'), 'captured');
    t.equal(metricSum(await scrape(node1!), OPENED, fromLate), 1, 'ztunnel carried it');
  });

  t.test('removing the label returns it to plain TCP and removes the rules', async (t) => {
    await mesh.addNamespace('late');
    await until(
      'late released',
      async () => (await captureState(late.netnsPath)) === 'absent' && !(await enrolledOn(late)),
    );
    const before = metricSum(await scrape(node1!), OPENED, fromLate);
    t.equal(
      await exchange(late.netnsPath, { address: server.ip, port: 8080 }, 'plain again'),
      'plain again',
    );
    t.equal(metricSum(await scrape(node1!), OPENED, fromLate), before, 'not carried by ztunnel');
  });

  t.test('after ztunnel restarts, new connections work and the rules are intact', async (t) => {
    await mesh.restart('node-1', 'ztunnel');
    await mesh.waitReady();
    await waitEnrolled(mesh, [client, server], [service.hostname]);
    t.equal(
      await exchange(client.netnsPath, vip, 'after ztunnel restart'),
      'after ztunnel restart',
    );
    t.equal(await captureState(client.netnsPath), 'installed');
    t.equal(await captureState(late.netnsPath), 'absent');
  });

  t.test(
    'after the node agent restarts, rules converge and open connections live on',
    async (t) => {
      await mesh.addNamespace('late', AMBIENT);
      await until(
        'late enrolled again',
        async () => (await captureState(late.netnsPath)) === 'installed',
      );
      const open = await connectIn(client.netnsPath, vip);
      const echoed = (message: string) =>
        new Promise<string>((resolve, reject) => {
          open.once('data', (chunk: Buffer) => resolve(chunk.toString()));
          open.once('error', reject);
          open.write(message);
        });
      t.equal(await echoed('before'), 'before');

      const old = mesh.nodes[0]!.agent!;
      old.child.kill('SIGKILL');
      await old.stop();
      // While the agent is away, `late` leaves the mesh; the new agent must notice.
      await mesh.addNamespace('late');
      await mesh.restart('node-1', 'agent');
      await mesh.waitReady();
      await until(
        'late released by the new agent',
        async () => (await captureState(late.netnsPath)) === 'absent' && !(await enrolledOn(late)),
      );
      t.equal(await captureState(client.netnsPath), 'installed', 'the enrolled pod kept its rules');
      t.ok(await enrolledOn(client), 'and its enrollment');
      t.equal(await echoed('after'), 'after', 'a connection opened before the restart still works');
      open.destroy();
      t.equal(await exchange(client.netnsPath, vip, 'new'), 'new', 'new connections work');
    },
  );
});
