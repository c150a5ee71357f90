import t from 'tap';
import { startMesh } from '../support/mesh.js';
import { waitEnrolled } from '../support/ztunnel.js';
import { askEcho, runEcho, serveEcho } from '../support/waypoint.js';

// The echo backend the waypoint suites use, reached through the L4 mesh alone (no waypoint):
// as a program run by an unprivileged user in its pod, and served in-process from the test.

t.test('echo backends answer through the node tunnel', async (t) => {
  const mesh = await startMesh(t, { nodes: 1 });
  await mesh.addNamespace('demo', { 'istio.io/dataplane-mode': 'ambient' });
  const client = await mesh.addPod({ node: 'node-1', namespace: 'demo', name: 'client' });
  const program = await mesh.addPod({
    node: 'node-1',
    namespace: 'demo',
    name: 'echo-program',
    labels: { app: 'program' },
    ports: [8080],
  });
  const inProcess = await mesh.addPod({
    node: 'node-1',
    namespace: 'demo',
    name: 'echo-inprocess',
    labels: { app: 'inprocess' },
    ports: [8080],
  });
  const ports = [{ name: 'http', port: 80, targetPort: 8080 }];
  const programService = await mesh.addService({
    namespace: 'demo',
    name: 'program',
    selector: { app: 'program' },
    ports,
  });
  const inProcessService = await mesh.addService({
    namespace: 'demo',
    name: 'inprocess',
    selector: { app: 'inprocess' },
    ports,
  });
  await runEcho(t, program, { port: 8080, version: 'v1', args: ['--fail-every', '2'] });
  const echo = await serveEcho(t, inProcess, { port: 8080, version: 'v2' });
  await mesh.waitReady();
  await waitEnrolled(
    mesh,
    [client, program, inProcess],
    [programService.hostname, inProcessService.hostname],
  );

  t.test('the program, run as nobody, sees the client as the source', async (t) => {
    const first = await askEcho(
      client,
      { address: programService.clusterIP, port: 80 },
      {
        path: '/hello',
        headers: { host: 'program:80' },
      },
    );
    t.equal(first.status, 200);
    t.match(first.reply, {
      version: 'v1',
      pod: 'echo-program',
      path: '/hello',
      host: 'program:80',
      sourceAddress: client.ip,
    });
    const second = await askEcho(client, { address: programService.clusterIP, port: 80 });
    t.equal(second.status, 503, '--fail-every 2 fails the second request');
  });

  t.test('the in-process echo counts what it served and obeys request headers', async (t) => {
    const before = echo.served;
    const answer = await askEcho(
      client,
      { address: inProcessService.clusterIP, port: 80 },
      {
        method: 'POST',
        headers: { 'x-echo-status': '418' },
        body: 'x'.repeat(100),
      },
    );
    t.equal(answer.status, 418);
    t.match(answer.reply, { version: 'v2', pod: 'echo-inprocess', bodyLength: 100 });
    t.equal(echo.served, before + 1);
  });
});
