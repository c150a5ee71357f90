import t from 'tap';
import { startMesh } from '../support/mesh.js';
import { exchange, listenIn } from '../support/netns.js';
import { metricSum, scrape, waitEnrolled } from '../support/ztunnel.js';

// L4 policy at the destination's node tunnel, end to end: an ALLOW by principal, and
// PeerAuthentication deciding whether a client outside the mesh may speak plaintext.

/** Resolves with the reply, or with the error's code when the mesh cut the connection. */
async function attempt(
  netnsPath: string,
  to: { address: string; port: number },
  message: string,
): Promise<string> {
  try {
    return await exchange(netnsPath, to, message, 5000);
  } catch (err) {
    return `error:${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

/** Retries until `attempt` gives the wanted outcome: config takes a moment to arrive. */
async function eventually(
  what: string,
  run: () => Promise<string>,
  wanted: (reply: string) => boolean,
  timeoutMs = 10_000,
): Promise<string> {
  const deadline = performance.now() + timeoutMs;
  let reply = '';
  for (;;) {
    reply = await run();
    if (wanted(reply)) return reply;
    if (performance.now() > deadline) throw new Error(`${what}: still '${reply}'`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

t.test('L4 authorization and peer authentication at the node tunnel', async (t) => {
  const mesh = await startMesh(t, { nodes: 2 });
  await mesh.addNamespace('demo', { 'istio.io/dataplane-mode': 'ambient' });
  await mesh.addNamespace('outside');
  const clientA = await mesh.addPod({
    node: 'node-1',
    namespace: 'demo',
    name: 'client-a',
    serviceAccount: 'a',
  });
  const clientB = await mesh.addPod({
    node: 'node-1',
    namespace: 'demo',
    name: 'client-b',
    serviceAccount: 'b',
  });
  const outsider = await mesh.addPod({ node: 'node-1', namespace: 'outside', name: 'outsider' });
  const guarded = await mesh.addPod({
    node: 'node-2',
    namespace: 'demo',
    name: 'guarded',
    labels: { app: 'guarded' },
    serviceAccount: 'guarded',
    ports: [8080],
  });
  const open = await mesh.addPod({
    node: 'node-2',
    namespace: 'demo',
    name: 'open',
    labels: { app: 'open' },
    serviceAccount: 'open',
    ports: [8080],
  });
  const guardedService = await mesh.addService({
    namespace: 'demo',
    name: 'guarded',
    selector: { app: 'guarded' },
    ports: [{ port: 80, targetPort: 8080 }],
  });
  await listenIn(t, guarded.netnsPath, { port: 8080 });
  await listenIn(t, open.netnsPath, { port: 8080 });
  await mesh.apply(
    'policy-allow-a.yaml',
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: allow-a, namespace: demo }
spec:
  selector: { matchLabels: { app: guarded } }
  action: ALLOW
  rules:
  - from:
    - source: { principals: ["cluster.local/ns/demo/sa/a"] }
`,
  );
  await mesh.waitReady();
  await waitEnrolled(mesh, [clientA, clientB, guarded, open], [guardedService.hostname]);
  const node2 = mesh.nodes[1]!;
  const vip = { address: guardedService.clusterIP, port: 80 };

  t.test('an ALLOW by principal lets one client through and closes the other', async (t) => {
    const denied = { direction: 'inbound', reason: 'denied' };
    const before = metricSum(
      await scrape(node2),
      'ambit_ztunnel_connection_failures_total',
      denied,
    );
    const b = await eventually(
      'client-b denied',
      () => attempt(clientB.netnsPath, vip, 'from b'),
      (reply) => reply !== 'from b',
    );
    t.not(b, 'from b', `client-b's connection was closed (${b})`);
    t.equal(await attempt(clientA.netnsPath, vip, 'from a'), 'from a', 'client-a is allowed');
    const after = metricSum(await scrape(node2), 'ambit_ztunnel_connection_failures_total', denied);
    t.ok(after > before, 'the denial is counted at the destination');
    const logged = node2.ztunnel!.logs.some(
      (line) =>
        line.msg === 'inbound connection refused' &&
        line.status === 401 &&
        line.identity === 'spiffe://cluster.local/ns/demo/sa/b',
    );
    t.ok(logged, 'the denial is logged with the peer identity');
  });

  const direct = { address: open.ip, port: 8080 };

  t.test('PERMISSIVE accepts a plaintext client outside the mesh', async (t) => {
    await mesh.apply(
      'peer-authentication.yaml',
      `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: demo }
spec: { mtls: { mode: PERMISSIVE } }
`,
    );
    const reply = await eventually(
      'plaintext accepted',
      () => attempt(outsider.netnsPath, direct, 'plain'),
      (r) => r === 'plain',
    );
    t.equal(reply, 'plain');
  });

  t.test('STRICT refuses the same client', async (t) => {
    await mesh.apply(
      'peer-authentication.yaml',
      `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: demo }
spec: { mtls: { mode: STRICT } }
`,
    );
    const reply = await eventually(
      'plaintext refused',
      () => attempt(outsider.netnsPath, direct, 'plain'),
      (r) => r !== 'plain',
    );
    t.not(reply, 'plain', `refused (${reply})`);
    t.equal(
      await attempt(clientA.netnsPath, { address: open.ip, port: 8080 }, 'mtls'),
      'mtls',
      'a mesh client still reaches the pod over HBONE',
    );
  });
});
