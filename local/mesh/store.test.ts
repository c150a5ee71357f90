import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { addressPlan } from '../addresses.js';
import { ConfigStore, InvalidConfigError, parseAll, resolveKind } from './store.js';

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: echo
  namespace: demo
spec:
  selector: { app: echo }
  ports:
    - port: 80
      targetPort: 8080
`;

async function store(t: Test): Promise<ConfigStore> {
  const dir = await mkdtemp(join(tmpdir(), 'ambit-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return new ConfigStore(dir, addressPlan(140));
}

t.test('kinds are found by kind, plural and short name, optionally with the group', async (t) => {
  t.equal(resolveKind('svc')?.kind, 'Service');
  t.equal(resolveKind('Services')?.kind, 'Service');
  t.equal(resolveKind('vs')?.kind, 'VirtualService');
  t.equal(resolveKind('dr')?.plural, 'destinationrules');
  t.equal(resolveKind('ap')?.kind, 'AuthorizationPolicy');
  t.equal(resolveKind('gateway')?.group, 'networking.istio.io', "gateway alone is Istio's");
  t.equal(resolveKind('gtw')?.group, 'gateway.networking.k8s.io');
  t.equal(resolveKind('gateways.gateway.networking.k8s.io')?.group, 'gateway.networking.k8s.io');
  t.equal(resolveKind('deployments'), undefined);
});

t.test('apply writes one file per object, gives a Service a VIP and keeps it', async (t) => {
  const s = await store(t);
  const [service] = parseAll([{ file: 'svc.yaml', text: SERVICE }]);
  t.equal(await s.apply(service!), 'created');
  t.equal(await s.apply(service!), 'unchanged');
  const [stored] = await s.list();
  t.equal((stored!.resource.spec as { clusterIP: string }).clusterIP, '10.140.255.1');
  t.same(await readdir(s.directory), ['services.core_demo_echo.yaml']);

  const [other] = parseAll([
    { file: 'b.yaml', text: SERVICE.replace('name: echo', 'name: other') },
  ]);
  await s.apply(other!);
  const ips = (await s.list()).map((o) => (o.resource.spec as { clusterIP: string }).clusterIP);
  t.same(ips.sort(), ['10.140.255.1', '10.140.255.2'], 'the next free VIP');

  const changed = parseAll([{ file: 'c.yaml', text: SERVICE.replace('port: 80', 'port: 81') }]);
  t.equal(await s.apply(changed[0]!), 'configured');
  const echo = await s.find(resolveKind('svc')!, 'demo', 'echo');
  t.equal((echo!.resource.spec as { clusterIP: string }).clusterIP, '10.140.255.1', 'VIP kept');

  t.ok(await s.delete(resolveKind('svc')!, 'demo', 'echo'));
  t.notOk(await s.delete(resolveKind('svc')!, 'demo', 'echo'), 'already gone');
  t.same(await readdir(s.directory), ['services.core_demo_other.yaml']);
});

t.test('one invalid document fails the whole input with its line', async (t) => {
  const text = `${SERVICE}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: Bad_Name\n`;
  t.throws(() => parseAll([{ file: 'in.yaml', text }]), InvalidConfigError);
  t.throws(
    () => parseAll([{ file: 'in.yaml', text }]),
    /in\.yaml:15:.*nothing applied|nothing applied[\s\S]*in\.yaml:15:/,
  );
});

t.test('an object in a hand-written file with others is cut out of it on delete', async (t) => {
  const s = await store(t);
  const both = `${SERVICE}---\n${SERVICE.replace('name: echo', 'name: other')}`;
  await writeFile(join(s.directory, 'mine.yaml'), both);
  t.equal((await s.list()).length, 2);
  t.ok(await s.delete(resolveKind('svc')!, 'demo', 'echo'));
  t.same(
    (await s.list()).map((o) => o.resource.metadata.name),
    ['other'],
  );
});
