import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startMesh } from '../support/mesh.js';
import { exchange, httpGetIn, listenIn } from '../support/netns.js';
import {
  configDump,
  digestServer,
  metricSum,
  scrape,
  sendBulk,
  waitEnrolled,
  waitForMetric,
} from '../support/ztunnel.js';

// The L4 data path end to end: pods in network namespaces wired by the real CNI chain, their
// traffic captured by real iptables rules and carried by two real ztunnel processes over
// HBONE. Services are only reachable through capture: nothing else routes their VIPs.

const GiB = 1 << 30;

t.test('ambient pods reach services on the same and on another node', async (t) => {
  const mesh = await startMesh(t, { nodes: 2 });
  await mesh.addNamespace('demo', { 'istio.io/dataplane-mode': 'ambient' });
  const client = await mesh.addPod({
    node: 'node-1',
    namespace: 'demo',
    name: 'client',
    serviceAccount: 'client',
  });
  const near = await mesh.addPod({
    node: 'node-1',
    namespace: 'demo',
    name: 'near',
    labels: { app: 'near' },
    serviceAccount: 'server',
    ports: [8080, 9090],
  });
  const far = await mesh.addPod({
    node: 'node-2',
    namespace: 'demo',
    name: 'far',
    labels: { app: 'far' },
    serviceAccount: 'server',
    ports: [8080, 9090],
  });
  const ports = [
    { name: 'echo', port: 80, targetPort: 8080 },
    { name: 'bulk', port: 90, targetPort: 9090 },
  ];
  const nearService = await mesh.addService({
    namespace: 'demo',
    name: 'near',
    selector: { app: 'near' },
    ports,
  });
  const farService = await mesh.addService({
    namespace: 'demo',
    name: 'far',
    selector: { app: 'far' },
    ports,
  });
  for (const pod of [near, far]) {
    await listenIn(t, pod.netnsPath, { port: 8080 });
    await listenIn(t, pod.netnsPath, { port: 9090 }, digestServer);
  }
  await mesh.waitReady();
  await waitEnrolled(mesh, [client, near, far], [nearService.hostname, farService.hostname]);
  const [node1, node2] = mesh.nodes;

  for (const [where, service] of [
    ['same node', nearService],
    ['other node', farService],
  ] as const) {
    t.test(`1 GiB to a service on the ${where} arrives intact`, async (t) => {
      const result = await sendBulk(
        client.netnsPath,
        { address: service.clusterIP, port: 90 },
        GiB,
      );
      t.equal(result.received, result.expected, 'sha256 of what arrived matches what was sent');
      t.comment(`${where}: 1 GiB in ${result.ms.toFixed(0)} ms`);
    });
  }

  t.test('500 concurrent short connections all succeed', async (t) => {
    const replies = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        exchange(
          client.netnsPath,
          { address: (i % 2 ? farService : nearService).clusterIP, port: 80 },
          `hello ${i}`,
          20_000,
        ),
      ),
    );
    const wrong = replies.filter((reply, i) => reply !== `hello ${i}`);
    t.equal(wrong.length, 0, 'every connection got its own message back');
  });

  t.test('the link between nodes carries only TLS to port 15008', async (t) => {
    const marker = `plaintext-marker-${process.pid}-${Date.now()}`;
    const file = join(mesh.cluster.stateDir, 'capture.pcap');
    // node-2's uplink: every packet between the nodes passes it. Control-plane traffic
    // (15012) shares the link and is left out of the capture.
    const link = mesh.cluster.nodes[1]!;
    const uplink = `${mesh.cluster.prefix}n2`;
    t.equal(link.name, 'node-2');
    const tcpdump = spawn(
      'tcpdump',
      ['-i', uplink, '--immediate-mode', '-U', '-n', '-w', file, 'tcp and not port 15012'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    t.teardown(() => void tcpdump.kill('SIGKILL'));
    let diagnostics = '';
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: tcpdump.stderr }).on('line', (line) => {
        diagnostics += `${line}\n`;
        if (line.includes('listening on')) resolve();
      });
      tcpdump.once('exit', () => reject(new Error(`tcpdump exited: ${diagnostics}`)));
    });

    for (let i = 0; i < 5; i++) {
      const reply = await exchange(
        client.netnsPath,
        { address: farService.clusterIP, port: 80 },
        marker,
      );
      t.equal(reply, marker);
    }
    tcpdump.kill('SIGINT');
    await once(tcpdump, 'exit');

    const pcap = await readFile(file);
    t.notOk(pcap.includes(marker), 'the message never crosses the link in clear');
    const text = await new Promise<string>((resolve, reject) => {
      const read = spawn('tcpdump', ['-r', file, '-n', '-q'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      let out = '';
      read.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      read.once('error', reject);
      read.once('close', () => resolve(out));
    });
    const packets = text.split('\n').filter((line) => line.includes(' IP '));
    t.ok(packets.length > 10, `packets were captured (${packets.length})`, { diagnostics, text });
    const other = packets.filter((line) => !/\.15008[ :]/.test(line));
    t.same(other, [], 'every packet is to or from port 15008');
  });

  t.test('metrics count the connections and bytes the test made', async (t) => {
    const source = { reporter: 'source', destination_service: farService.hostname };
    const destination = {
      reporter: 'destination',
      destination_workload: 'far',
      source_principal: 'spiffe://cluster.local/ns/demo/sa/client',
    };
    const before1 = await scrape(node1!);
    const before2 = await scrape(node2!);
    const at = (text: string, name: string, labels: Record<string, string>) =>
      metricSum(text, name, labels);
    const message = 'x'.repeat(1000);
    for (let i = 0; i < 7; i++) {
      const reply = await exchange(
        client.netnsPath,
        { address: farService.clusterIP, port: 80 },
        message,
      );
      t.equal(reply.length, message.length);
    }
    const opened = 'istio_tcp_connections_opened_total';
    const closed = 'istio_tcp_connections_closed_total';
    const received = 'istio_tcp_received_bytes_total';
    const sent = 'istio_tcp_sent_bytes_total';
    await waitForMetric(node1!, closed, source, at(before1, closed, source) + 7);
    await waitForMetric(node2!, closed, destination, at(before2, closed, destination) + 7);
    const after1 = await scrape(node1!);
    const after2 = await scrape(node2!);
    t.equal(at(after1, opened, source) - at(before1, opened, source), 7, 'source: 7 opened');
    t.equal(
      at(after2, opened, destination) - at(before2, opened, destination),
      7,
      'destination: 7 opened',
    );
    for (const [text, before, labels] of [
      [after1, before1, source],
      [after2, before2, destination],
    ] as const) {
      t.equal(
        at(text, received, labels) - at(before, received, labels),
        7000,
        `${labels.reporter}: bytes received`,
      );
      t.equal(
        at(text, sent, labels) - at(before, sent, labels),
        7000,
        `${labels.reporter}: bytes sent`,
      );
    }
    t.match(after1, /connection_security_policy="mutual_tls"/);
  });

  t.test('an app that is not listening: the client is reset and the refusal counted', async (t) => {
    const failures = { direction: 'inbound', reason: 'ECONNREFUSED' };
    const name = 'ambit_ztunnel_connection_failures_total';
    const before = metricSum(await scrape(node2!), name, failures);
    const reply = await exchange(client.netnsPath, { address: far.ip, port: 7070 }, 'anyone?').then(
      (r) => `reply:${r}`,
      (err: NodeJS.ErrnoException) => `error:${err.code ?? err.message}`,
    );
    t.equal(reply, 'error:ECONNRESET', 'the captured connection is reset, not closed cleanly');
    t.equal(metricSum(await scrape(node2!), name, failures), before + 1);
  });

  t.test('the admin endpoints describe the node tunnel', async (t) => {
    const dump = await configDump(node1!);
    t.ok(dump.ready, 'ready');
    t.ok(
      dump.pods.some((p) => p.name === 'client' && p.namespace === 'demo'),
      'enrolled pods are listed',
    );
    const certificate = dump.certificates.find((c) => c.identity.endsWith('/ns/demo/sa/client'));
    t.match(certificate, { state: 'ready', notAfter: String });
    t.ok(
      dump.services.some((svc) => svc.hostname === farService.hostname),
      'services are listed',
    );
    t.notOk(JSON.stringify(dump).includes('PRIVATE KEY'), 'no key is ever dumped');
    const ready = await httpGetIn(node1!.netnsPath, 'http://127.0.0.1:15021/healthz/ready');
    t.equal(ready.status, 200);
    const level = await httpGetIn(node1!.netnsPath, 'http://127.0.0.1:15000/logging');
    t.same(JSON.parse(level.body), { level: 'info' });
  });
});
