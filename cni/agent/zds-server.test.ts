import { statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { silentLogger } from '../../core/telemetry/log.js';
import { Registry } from '../../core/telemetry/metrics.js';
import { waitFor } from '../../core/xds/testing/wait.js';
import { tempDir } from '../../test/support/ambit.js';
import { createAgentMetrics } from './metrics.js';
import { podUid } from './pod-source.js';
import type { ZdsWorkload } from './workload.js';
import { FakeZtunnel } from './testing/fake-ztunnel.js';
import { tempNetns } from './testing/netns.js';
import { ZdsServer } from './zds-server.js';

// The zds server against a ztunnel stand-in on a real SEQPACKET socket, with real pod
// network namespaces whose fds cross the socket.

async function setup(t: Test, options: { ackTimeoutMs?: number } = {}) {
  const dir = await tempDir(t, 'ambit-zds-');
  const registry = new Registry();
  const gone: string[] = [];
  const server = new ZdsServer({
    path: join(dir, 'zds.sock'),
    logger: silentLogger(),
    metrics: createAgentMetrics(registry),
    ...options,
    onNetnsGone: (uid) => gone.push(uid),
  });
  t.teardown(() => server.close());
  const counter = async (name: string, reason: string) =>
    (await registry.getSingleMetric(name)?.get())?.values.find((v) => v.labels.reason === reason)
      ?.value ?? 0;
  return { path: join(dir, 'zds.sock'), server, gone, counter };
}

async function workload(t: Test, name: string): Promise<ZdsWorkload> {
  const netns = await tempNetns(t);
  return {
    uid: podUid(`uid-${name}`),
    name,
    namespace: 'shop',
    serviceAccount: `${name}-sa`,
    netns: netns.path,
  };
}

t.test(
  'after hello ztunnel gets every enrolled pod with its netns, then the snapshot end',
  async (t) => {
    const { path, server } = await setup(t);
    const cart = await workload(t, 'cart');
    const web = await workload(t, 'web');
    // Known before ztunnel connects: nothing to send yet, so these settle at once.
    await server.add(cart);
    await server.add(web);
    server.listen();
    const ztunnel = await FakeZtunnel.connect(t, path);
    ztunnel.hello();
    await waitFor('the snapshot', () => ztunnel.summary().includes('snapshot'));
    t.same(ztunnel.summary(), ['add uid-cart', 'add uid-web', 'snapshot']);
    const first = ztunnel.received[0]?.request.payload;
    t.match(
      first?.case === 'add' ? first.value.workloadInfo : undefined,
      { name: 'cart', namespace: 'shop', serviceAccount: 'cart-sa' },
      'name, namespace and service account go along',
    );
    t.same(
      ztunnel.received.map((r) => r.inodes),
      [[statSync(cart.netns).ino], [statSync(web.netns).ino], []],
      'each add carries the fd of that pod’s own netns',
    );
    t.same(
      ztunnel.received.map((r) => r.acksBefore),
      [0, 1, 2],
      'each message waits for the previous ack',
    );
    t.ok(server.connected());
  },
);

t.test('pods enrolled later are added and removed on the live connection', async (t) => {
  const { path, server } = await setup(t);
  server.listen();
  const ztunnel = await FakeZtunnel.connect(t, path);
  ztunnel.hello();
  await waitFor('the snapshot', () => ztunnel.summary().includes('snapshot'));
  const cart = await workload(t, 'cart');
  await server.add(cart);
  t.same(ztunnel.summary(), ['snapshot', 'add uid-cart'], 'add settles once acked');
  await server.del(cart.uid);
  t.same(ztunnel.summary(), ['snapshot', 'add uid-cart', 'del uid-cart']);
  await server.add(cart);
  await server.add({ ...cart, netns: (await tempNetns(t)).path });
  t.same(
    ztunnel.summary().slice(3),
    ['add uid-cart', 'del uid-cart', 'add uid-cart'],
    'a pod whose netns changed is removed, then added with the new one',
  );
});

t.test('a new ztunnel connection replaces the old one and gets the full snapshot', async (t) => {
  const { path, server } = await setup(t);
  await server.add(await workload(t, 'cart'));
  server.listen();
  const old = await FakeZtunnel.connect(t, path);
  old.hello();
  await waitFor('the first snapshot', () => old.summary().includes('snapshot'));
  const restarted = await FakeZtunnel.connect(t, path);
  restarted.hello();
  await waitFor('the second snapshot', () => restarted.summary().includes('snapshot'));
  t.same(restarted.summary(), ['add uid-cart', 'snapshot']);
  await waitFor('the old connection to close', () => old.closed);
  await server.add(await workload(t, 'web'));
  t.same(restarted.summary(), ['add uid-cart', 'snapshot', 'add uid-web']);
  t.same(old.summary(), ['add uid-cart', 'snapshot'], 'the old ztunnel hears nothing more');
});

t.test('an add ztunnel refuses is counted and the exchange goes on', async (t) => {
  const { path, server, counter } = await setup(t);
  await server.add(await workload(t, 'cart'));
  await server.add(await workload(t, 'web'));
  server.listen();
  const ztunnel = await FakeZtunnel.connect(t, path, (request) =>
    request.payload.case === 'add' && request.payload.value.uid === 'uid-cart'
      ? 'no certificate for shop/cart'
      : '',
  );
  ztunnel.hello();
  await waitFor('the snapshot', () => ztunnel.summary().includes('snapshot'));
  t.same(ztunnel.summary(), ['add uid-cart', 'add uid-web', 'snapshot']);
  t.equal(await counter('ambit_cni_enrollment_failures_total', 'ztunnel_rejected'), 1);
});

t.test('a ztunnel that stops acking is dropped', async (t) => {
  const { path, server, counter } = await setup(t, { ackTimeoutMs: 200 });
  await server.add(await workload(t, 'cart'));
  server.listen();
  const ztunnel = await FakeZtunnel.connect(t, path, () => undefined);
  ztunnel.hello();
  await waitFor('the connection to be dropped', () => ztunnel.closed);
  t.same(ztunnel.summary(), ['add uid-cart'], 'nothing follows an unacked message');
  t.equal(await counter('ambit_cni_zds_errors_total', 'ack_timeout'), 1);
  t.notOk(server.connected());
});

t.test('a netns that is gone is skipped, counted and reported', async (t) => {
  const { path, server, gone, counter } = await setup(t);
  const cart = await workload(t, 'cart');
  const web = await workload(t, 'web');
  await server.add(cart);
  await server.add({ ...web, netns: join(web.netns, 'missing') });
  server.listen();
  const ztunnel = await FakeZtunnel.connect(t, path);
  ztunnel.hello();
  await waitFor('the snapshot', () => ztunnel.summary().includes('snapshot'));
  t.same(ztunnel.summary(), ['add uid-cart', 'snapshot']);
  t.same(gone, ['uid-web']);
  t.equal(await counter('ambit_cni_enrollment_failures_total', 'netns_gone'), 1);
});

t.test('garbage instead of hello drops the connection', async (t) => {
  const { path, server, counter } = await setup(t);
  server.listen();
  const ztunnel = await FakeZtunnel.connect(t, path);
  ztunnel.socket.send(Buffer.from([0xff, 0xff, 0xff]));
  await waitFor('the connection to be dropped', () => ztunnel.closed);
  t.equal(await counter('ambit_cni_zds_errors_total', 'bad_message'), 1);
});
