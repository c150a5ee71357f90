import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { ADDRESS_TYPE_URL } from '../../api/xds/type-urls.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { DeltaXdsClient } from '../../core/xds/client.js';
import { waitFor } from '../../core/xds/testing/wait.js';
import { listLeftovers } from '../../local/leftovers.js';
import { randomPrefix } from '../../local/names.js';
import { createCluster } from '../../local/topology.js';
import { startMesh } from '../support/mesh.js';
import { connectIn } from '../support/netns.js';
import { OWNER_DIR, processRef, removeCrashedRuns } from '../support/run-owner.js';

async function debugConfig(url: string): Promise<{ resources: number; rejected: string[] }> {
  return (await (await fetch(`${url}/debug/config`)).json()) as {
    resources: number;
    rejected: string[];
  };
}

t.test('the control plane serves on the cluster bridge and sees the pods added', async (t) => {
  const mesh = await startMesh(t, { nodes: 2, dataplane: false });
  await mesh.waitReady();
  t.equal(mesh.controlPlane.address, `${mesh.cluster.bridgeIp}:15012`);
  const before = await debugConfig(mesh.controlPlane.monitoringUrl);

  await mesh.addNamespace('demo', { 'istio.io/dataplane-mode': 'ambient' });
  const pod = await mesh.addPod({
    node: 'node-2',
    namespace: 'demo',
    name: 'echo-1',
    labels: { app: 'echo' },
    serviceAccount: 'echo',
    ports: [8080],
  });
  const service = await mesh.addService({
    namespace: 'demo',
    name: 'echo',
    selector: { app: 'echo' },
    ports: [{ port: 80, targetPort: 8080, name: 'http' }],
  });
  t.ok(service.clusterIP.startsWith(`10.${mesh.cluster.octet}.255.`), 'a VIP of the cluster');

  const deadline = performance.now() + 5000;
  let config = before;
  while (config.resources < before.resources + 3 && performance.now() < deadline)
    config = await debugConfig(mesh.controlPlane.monitoringUrl);
  t.equal(config.resources, before.resources + 3, 'namespace, pod and service loaded');
  t.same(config.rejected, [], 'all three valid');

  // node-1's ztunnel token reads the pod and service from the control plane, over TLS on
  // the bridge, verified with the root and name ztunnel is given.
  const held = new Set<string>();
  const client = new DeltaXdsClient({
    address: mesh.controlPlane.address,
    tls: {
      ca: await readFile(mesh.controlPlane.rootCertFile),
      servername: mesh.controlPlane.servername,
    },
    token: await readFile(mesh.nodes[0]!.tokenFile, 'utf8'),
    node: { id: 'ztunnel~node-1' },
    typeUrls: [ADDRESS_TYPE_URL],
    logger: silentLogger(),
    onResources: (_, delta) => {
      for (const name of delta.upserts.keys()) held.add(name);
    },
  });
  t.teardown(() => client.close());
  client.start();
  await waitFor('the pod and service over xDS', () =>
    ['Kubernetes//Pod/demo/echo-1', `demo/${service.hostname}`].every((n) => held.has(n)),
  );
  t.pass(`pod ${pod.ip} and service ${service.clusterIP} served`);
});

t.test('a node reaches the control plane from its own namespace', async (t) => {
  const mesh = await startMesh(t, { nodes: 1, dataplane: false });
  const [host, port] = mesh.controlPlane.address.split(':');
  const raw = await connectIn(mesh.nodes[0]!.netnsPath, { address: host!, port: Number(port) });
  const secure = tls.connect({
    socket: raw,
    ca: await readFile(mesh.controlPlane.rootCertFile),
    servername: mesh.controlPlane.servername,
    ALPNProtocols: ['h2'],
  });
  t.teardown(() => secure.destroy());
  await new Promise<void>((resolve, reject) => {
    secure.once('secureConnect', resolve);
    secure.once('error', reject);
  });
  t.ok(secure.authorized, 'the serving certificate verifies for the servername ztunnel uses');
  t.equal(secure.alpnProtocol, 'h2');
});

t.test('clusters of test runs that died are removed; live runs’ are kept', async (t) => {
  const dead = await createCluster({ prefix: randomPrefix(), nodes: 1 });
  const alive = await createCluster({ prefix: randomPrefix(), nodes: 1 });
  t.teardown(() => Promise.all([dead.destroy(), alive.destroy()]));

  // A dead owner (an exited process), and a control plane it left running.
  const exited = spawn('true');
  const exitedPid = exited.pid!;
  await new Promise((resolve) => exited.once('exit', resolve));
  const leftBehind = spawn('sleep', ['600'], { stdio: 'ignore' });
  t.teardown(() => void leftBehind.kill('SIGKILL'));
  const leftBehindGone = new Promise((resolve) => leftBehind.once('exit', resolve));
  await mkdir(OWNER_DIR, { recursive: true });
  await writeFile(
    join(OWNER_DIR, `${dead.prefix}.json`),
    JSON.stringify({
      owner: { pid: exitedPid, startTime: '1' },
      processes: [await processRef(leftBehind.pid!)],
    }),
  );
  await writeFile(
    join(OWNER_DIR, `${alive.prefix}.json`),
    JSON.stringify({ owner: await processRef(process.pid), processes: [] }),
  );
  t.teardown(() => rm(join(OWNER_DIR, `${alive.prefix}.json`), { force: true }));

  // Another suite starting a mesh at the same moment may be the one that removes it.
  await removeCrashedRuns();
  t.same(await listLeftovers({ prefix: dead.prefix }), [], 'the dead run’s cluster is gone');
  await leftBehindGone;
  t.pass('the process it left is killed');
  t.equal((await listLeftovers({ prefix: alive.prefix }))[0]?.netns.length, 1, 'kept');
});
