import t from 'tap';
import { stringify } from 'yaml';
import { ip } from '../../local/command.js';
import { podObject } from '../../local/mesh/components.js';
import { POD_INTERFACE } from '../../local/names.js';
import { startMesh, type MeshPod } from '../support/mesh.js';
import { exchange, listenIn } from '../support/netns.js';
import {
  configDump,
  metricSum,
  scrape,
  waitEnrolled,
  waitForMetric,
  waitUntil,
} from '../support/ztunnel.js';

// IPv6 through the node tunnel. The capture rules redirect a pod's IPv6 as well as its IPv4,
// so ztunnel must listen on both families: without its IPv6 listeners every IPv6 connection
// of an enrolled pod is refused. The harness gives pods IPv4 only; here each pod also gets
// an address from a unique-local prefix on its interface (all on one node's pod bridge, so
// no routes are needed), and the ambient server's Pod lists it in status.podIPs, as a
// dual-stack cluster would. The client outside the mesh stays unknown to the registry.

const MESH_NS = 'v6-mesh';
const PLAIN_NS = 'v6-plain';
const PORT = 9000;

t.test('IPv6 connections of an ambient pod are captured and carried', async (t) => {
  const mesh = await startMesh(t, { nodes: 1 });
  // The cluster's octet is unique among running clusters, so the prefix is too.
  const prefix = `fd00:${mesh.cluster.octet.toString(16)}:ab::`;
  await mesh.addNamespace(MESH_NS, { 'istio.io/dataplane-mode': 'ambient' });
  await mesh.addNamespace(PLAIN_NS);
  const client = await mesh.addPod({ node: 'node-1', namespace: MESH_NS, name: 'client' });
  const server = await mesh.addPod({ node: 'node-1', namespace: MESH_NS, name: 'server' });
  const outside = await mesh.addPod({ node: 'node-1', namespace: PLAIN_NS, name: 'outside' });
  const v6 = new Map<MeshPod, string>([
    [client, `${prefix}1`],
    [server, `${prefix}2`],
    [outside, `${prefix}3`],
  ]);
  for (const [pod, address] of v6)
    await ip(['-n', pod.netns, 'addr', 'add', `${address}/64`, 'dev', POD_INTERFACE, 'nodad']);
  // Who connected to each pod's IPv6 echo, last first.
  const peers = new Map<MeshPod, string[]>();
  for (const pod of [server, outside]) {
    const seen: string[] = [];
    peers.set(pod, seen);
    await listenIn(t, pod.netnsPath, { address: '::', port: PORT }, (socket) => {
      seen.unshift(socket.remoteAddress ?? '');
      socket.on('error', () => socket.destroy());
      socket.pipe(socket);
    });
  }
  // The server as a dual-stack cluster reports it: both addresses in status.podIPs.
  const dualStack = podObject(server) as { status: { podIPs: { ip: string }[] } };
  dualStack.status.podIPs.push({ ip: v6.get(server)! });
  await mesh.apply(`pod-${MESH_NS}-server.yaml`, stringify(dualStack));
  await mesh.waitReady();
  await waitEnrolled(mesh, [client, server]);
  const [node] = mesh.nodes;
  if (node === undefined) throw new Error('no node');
  await waitUntil(
    "ztunnel knows the server's IPv6 address",
    async () => JSON.stringify(await configDump(node)).includes(`"${v6.get(server)}"`),
    10_000,
  );
  const opened = 'istio_tcp_connections_opened_total';
  const closed = 'istio_tcp_connections_closed_total';

  /**
   * Sends `message` from one pod to another's IPv6 echo and returns what came back, how many
   * connections ztunnel opened under `labels` meanwhile, and who the server saw connecting.
   */
  const carry = async (
    from: MeshPod,
    to: MeshPod,
    message: string,
    labels: Record<string, string>,
  ) => {
    const before = await scrape(node);
    const reply = await exchange(from.netnsPath, { address: v6.get(to)!, port: PORT }, message);
    await waitForMetric(node, closed, labels, metricSum(before, closed, labels) + 1);
    const counted =
      metricSum(await scrape(node), opened, labels) - metricSum(before, opened, labels);
    return { reply, counted, peer: peers.get(to)?.[0] };
  };

  t.test('outbound: an ambient pod reaches an IPv6 host outside the mesh', async (t) => {
    const got = await carry(client, outside, 'over IPv6', { reporter: 'source' });
    t.equal(got.reply, 'over IPv6', 'echoed');
    t.equal(got.counted, 1, 'ztunnel carried it: one outbound connection counted');
    t.equal(got.peer, v6.get(client), "from the client's own IPv6 address");
  });

  t.test('ambient to ambient over IPv6 goes through HBONE with mutual TLS', async (t) => {
    const labels = { reporter: 'destination', connection_security_policy: 'mutual_tls' };
    const got = await carry(client, server, 'tunnelled', labels);
    t.equal(got.reply, 'tunnelled', 'echoed');
    t.equal(got.counted, 1, 'one mutual-TLS connection at the destination');
    t.equal(got.peer, v6.get(client), "the app sees the client's address");
  });

  t.test('inbound: a client outside the mesh reaches an ambient pod over IPv6', async (t) => {
    const labels = { reporter: 'destination', connection_security_policy: 'unknown' };
    const got = await carry(outside, server, 'plain IPv6', labels);
    t.equal(got.reply, 'plain IPv6', 'echoed');
    t.equal(got.counted, 1, 'ztunnel carried it: one inbound connection counted');
    t.equal(got.peer, v6.get(outside), 'the app sees the original source');
  });
});
