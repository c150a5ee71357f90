import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { DirectorySource } from '../../core/config/directory.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { Registry } from '../../core/telemetry/metrics.js';
import { waitFor } from '../../core/xds/testing/wait.js';
import { tempDir } from '../../test/support/ambit.js';
import { FilePodSource } from './file-pod-source.js';

function pod(name: string, node: string | undefined, extra = ''): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: shop
  uid: uid-${name}
  labels:
    app: ${name}
${extra}spec:
  ${node === undefined ? '' : `nodeName: ${node}`}
  serviceAccountName: ${name}-sa
  containers: [{name: app, image: app}]
status:
  podIP: 10.244.1.7
`;
}

const namespace = (mode: string) => `apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    istio.io/dataplane-mode: ${mode}
`;

async function setup(t: Test) {
  const dir = await tempDir(t, 'ambit-pods-');
  const source = new FilePodSource(
    new DirectorySource({ directory: dir, logger: silentLogger(), registry: new Registry() }),
    'node-1',
  );
  t.teardown(() => source.stop());
  return { dir, source };
}

t.test('pods on this node are found with what enrollment needs', async (t) => {
  const { dir, source } = await setup(t);
  await writeFile(join(dir, 'ns.yaml'), namespace('ambient'));
  await writeFile(
    join(dir, 'pods.yaml'),
    [pod('cart', 'node-1'), pod('web', 'node-2'), pod('db', undefined)].join('---\n'),
  );
  await source.start();
  t.same(source.pod('shop', 'cart'), {
    uid: 'uid-cart',
    name: 'cart',
    namespace: 'shop',
    labels: { app: 'cart' },
    annotations: {},
    serviceAccount: 'cart-sa',
    podIP: '10.244.1.7',
    hostNetwork: false,
  });
  t.equal(source.pod('shop', 'web'), undefined, 'a pod bound to another node is not ours');
  t.equal(source.pod('shop', 'db')?.name, 'db', 'a pod bound to no node may be ours');
  t.same(source.namespace('shop'), {
    name: 'shop',
    labels: { 'istio.io/dataplane-mode': 'ambient' },
  });
  t.equal(source.namespace('elsewhere'), undefined);
});

t.test('a namespace edit is reported as a change', async (t) => {
  const { dir, source } = await setup(t);
  await writeFile(join(dir, 'ns.yaml'), namespace('ambient'));
  await source.start();
  let changes = 0;
  source.onChange(() => changes++);
  await writeFile(join(dir, 'ns.yaml'), namespace('none'));
  await waitFor('a change', () => changes > 0);
  t.equal(source.namespace('shop')?.labels['istio.io/dataplane-mode'], 'none');
});
