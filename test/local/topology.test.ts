import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cidrsOverlap } from '../../local/addresses.js';
import { runCommand } from '../../local/command.js';
import { listLeftovers } from '../../local/leftovers.js';
import { randomPrefix, type ClusterPrefix } from '../../local/names.js';
import { addPod, PodNetworkError, removePod } from '../../local/pods.js';
import { createCluster, destroyCluster, type Cluster } from '../../local/topology.js';
import { exchange, listenIn } from '../support/netns.js';

async function cluster(t: Test, nodes = 2): Promise<Cluster> {
  const created = await createCluster({ prefix: randomPrefix(), nodes });
  t.teardown(() => created.destroy());
  return created;
}

/** What `ip -j` and iptables still show of a prefix in the root namespace. */
async function traces(prefix: ClusterPrefix, clusterCidr: string): Promise<string[]> {
  const json = async (args: string[]) => {
    const out = (await runCommand('ip', ['-j', ...args])).stdout.trim();
    return (out === '' ? [] : JSON.parse(out)) as Record<string, string>[];
  };
  const found: string[] = [];
  for (const { name } of await json(['netns', 'list']))
    if (name!.startsWith(prefix)) found.push(`netns ${name}`);
  for (const { ifname } of await json(['link', 'show']))
    if (ifname!.startsWith(prefix)) found.push(`link ${ifname}`);
  for (const route of await json(['-4', 'route', 'show', 'table', 'all']))
    if (route.dst !== 'default' && cidrsOverlap(route.dst!, clusterCidr))
      found.push(`route ${route.dst}`);
  const rules = (await runCommand('iptables', ['-w', '-S'])).stdout;
  if (rules.includes(prefix)) found.push('iptables rule');
  if (existsSync(join('/run/ambit', prefix))) found.push('state dir');
  const reservations = await readdir('/run/ambit/subnets').catch((): string[] => []);
  if (reservations.includes(String(clusterCidr.split('.')[1]))) found.push('subnet reservation');
  return found;
}

t.test('a pod on one node reaches a pod on another node by its IP, unNATed', async (t) => {
  const c = await cluster(t);
  const [a, b] = await Promise.all([
    addPod(c, 'node-1', { namespace: 'demo', name: 'a', uid: 'uid-a' }),
    addPod(c, 'node-2', { namespace: 'demo', name: 'b', uid: 'uid-b' }),
  ]);
  t.ok(cidrsOverlap(a.ip, c.nodes[0]!.podCidr), `${a.ip} is in node-1's pod CIDR`);
  t.ok(cidrsOverlap(b.ip, c.nodes[1]!.podCidr), `${b.ip} is in node-2's pod CIDR`);

  await listenIn(t, b.netnsPath, { port: 8080 }, (socket) => {
    socket.end(`${socket.remoteAddress} -> ${socket.localAddress}`);
  });
  const reply = await exchange(a.netnsPath, { address: b.ip, port: 8080 }, '');
  t.equal(reply, `${a.ip} -> ${b.ip}`, 'the server sees the client pod address');
});

t.test('a pod is reachable from the root namespace, where the control plane runs', async (t) => {
  const c = await cluster(t, 1);
  const pod = await addPod(c, 'node-1', { namespace: 'demo', name: 'a', uid: 'uid-a' });
  const { stdout } = await runCommand('ip', ['-j', 'route', 'get', pod.ip]);
  t.match(stdout, c.bridge, 'routed through the cluster bridge');
  const server = await listenIn(t, pod.netnsPath, { address: pod.ip, port: 0 });
  const port = (server.address() as { port: number }).port;
  t.equal(await exchange('/proc/self/ns/net', { address: pod.ip, port }, 'ping'), 'ping');
});

t.test(
  'removing a pod runs CNI DEL: its address goes back to IPAM, its namespace goes',
  async (t) => {
    const c = await cluster(t, 1);
    const pod = await addPod(c, 'node-1', { namespace: 'demo', name: 'a', uid: 'uid-a' });
    const leases = join(c.nodes[0]!.stateDir, 'ipam', 'ambit');
    t.ok((await readdir(leases)).includes(pod.ip), 'host-local keeps its lease under the node');
    await removePod(c, pod);
    t.notOk((await readdir(leases)).includes(pod.ip), 'lease released');
    t.notOk(existsSync(pod.netnsPath), 'namespace removed');
  },
);

t.test('a failed CNI ADD leaves no pod namespace behind', async (t) => {
  const c = await cluster(t, 1);
  const empty = await mkdtemp(join(tmpdir(), 'ambit-no-plugins-'));
  t.teardown(() => rm(empty, { recursive: true, force: true }));
  const error = await addPod(
    c,
    'node-1',
    { namespace: 'demo', name: 'a', uid: 'uid-a' },
    { ambitCniDir: empty },
  ).catch((err: unknown) => err);
  t.type(error, PodNetworkError);
  t.match(String((error as Error).cause), /ambit-cni: not found/);
  const [leftovers] = await listLeftovers({ prefix: c.prefix });
  t.same(leftovers?.netns, [c.nodes[0]!.netns], 'only the node namespace is left');
});

t.test('two clusters created at the same moment get different subnets', async (t) => {
  const [one, two] = await Promise.all([cluster(t, 1), cluster(t, 1)]);
  t.not(one.octet, two.octet);
  t.notOk(cidrsOverlap(one.clusterCidr, two.clusterCidr));
});

t.test('destroy leaves no namespace, link, route, rule or directory', async (t) => {
  const c = await createCluster({ prefix: randomPrefix(), nodes: 2 });
  t.teardown(() => destroyCluster(c.prefix));
  await addPod(c, 'node-2', { namespace: 'demo', name: 'a', uid: 'uid-a' });
  t.not((await traces(c.prefix, c.clusterCidr)).length, 0, 'the probe sees a live cluster');
  await c.destroy();
  t.same(await traces(c.prefix, c.clusterCidr), []);
  await c.destroy();
  t.pass('destroying twice is harmless');
});

t.test(
  'a crashed run’s cluster is found by its prefix and removed, processes and all',
  async (t) => {
    const c = await createCluster({ prefix: randomPrefix(), nodes: 2 });
    t.teardown(() => destroyCluster(c.prefix));
    await addPod(c, 'node-1', { namespace: 'demo', name: 'a', uid: 'uid-a' });
    // A node process nobody stopped (a ztunnel whose test runner died).
    const orphan = spawn('ip', ['netns', 'exec', c.nodes[0]!.netns, 'sleep', '600'], {
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => orphan.once('exit', resolve));
    t.teardown(() => void orphan.kill('SIGKILL'));
    const prefix = c.prefix;
    // `ip netns exec` enters the namespace just after it starts.
    const deadline = performance.now() + 5000;
    let leftovers = (await listLeftovers()).find((l) => l.prefix === prefix);
    while (!leftovers?.pids.includes(orphan.pid!) && performance.now() < deadline)
      leftovers = (await listLeftovers()).find((l) => l.prefix === prefix);

    // Nothing but the prefix is known now.
    t.ok(leftovers, 'listed among all prefixes');
    t.equal(leftovers!.netns.length, 3, 'two nodes and a pod');
    t.same(leftovers!.links.sort(), [`${prefix}br`, `${prefix}n1`, `${prefix}n2`]);
    t.equal(leftovers!.firewallRules.length, 1);
    t.ok(leftovers!.stateDir);
    t.equal(leftovers!.subnetFiles.length, 1);
    t.ok(leftovers!.pids.includes(orphan.pid!), 'the process inside a node is found');

    await destroyCluster(prefix);
    await exited;
    t.same(await listLeftovers({ prefix }), []);
    t.same(await traces(prefix, c.clusterCidr), []);
  },
);
