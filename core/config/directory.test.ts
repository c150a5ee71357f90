import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { silentLogger } from '../telemetry/log.js';
import { Registry } from '../telemetry/metrics.js';
import { ConfigView } from './config-view.js';
import { DirectorySource } from './directory.js';
import { resourceKey } from './resource-key.js';

/**
 * Waits for a condition. The deadline is generous except where a test pins the one-second
 * promise itself, so a loaded machine does not fail tests about something else.
 */
async function waitFor(what: string, condition: () => boolean, deadlineMs = 5000): Promise<number> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > deadlineMs) throw new Error(`not within ${deadlineMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Date.now() - started;
}

async function setup(t: Test, options: { createDirectory?: boolean } = {}) {
  const parent = await mkdtemp(join(tmpdir(), 'ambit-config-'));
  t.teardown(() => rm(parent, { recursive: true, force: true }));
  const dir = join(parent, 'config');
  if (options.createDirectory !== false) await mkdir(dir);
  const registry = new Registry();
  const source = new DirectorySource({ directory: dir, logger: silentLogger(), registry });
  const view = new ConfigView();
  source.subscribe((event) => view.apply(event));
  t.teardown(() => source.stop());
  return { dir, registry, source, view };
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}) {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  const found = values.find((v) =>
    Object.entries(labels).every(([k, value]) => v.labels[k] === value),
  );
  return found?.value ?? 0;
}

function namespace(name: string, mode = 'ambient'): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
  labels:
    istio.io/dataplane-mode: ${mode}
`;
}

function service(name: string, port: number | string = 9080): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
  namespace: shop
spec:
  selector:
    app: ${name}
  ports:
    - name: http
      port: ${port}
`;
}

const reviews = resourceKey('Service', 'shop', 'reviews');
const ratings = resourceKey('Service', 'shop', 'ratings');
const shop = resourceKey('Namespace', '', 'shop');

function portOf(view: ConfigView): number | undefined {
  const resource = view.get(reviews);
  return resource?.type === 'Service' ? resource.spec.ports?.[0]?.port : undefined;
}

t.test('valid YAML and JSON files load from every level of the directory', async (t) => {
  const { dir, source, view } = await setup(t);
  await mkdir(join(dir, 'shop', 'services'), { recursive: true });
  await writeFile(join(dir, 'namespaces.yaml'), namespace('shop'));
  await writeFile(
    join(dir, 'shop', 'services', 'all.yml'),
    `${service('reviews')}---\n${service('ratings')}`,
  );
  await writeFile(
    join(dir, 'shop', 'extra.json'),
    JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'books' } }),
  );
  await writeFile(join(dir, 'notes.txt'), 'not config');
  await writeFile(join(dir, '.hidden.yaml'), namespace('hidden'));
  await source.start();
  t.same(
    view
      .resources()
      .map((r) => `${r.type}/${r.metadata.name}`)
      .sort(),
    ['Namespace/books', 'Namespace/shop', 'Service/ratings', 'Service/reviews'],
  );
  t.same(view.rejections(), []);
});

t.test('an edit to a file is served within one second', async (t) => {
  const { dir, source, view } = await setup(t);
  await writeFile(join(dir, 'reviews.yaml'), service('reviews', 9080));
  await source.start();
  t.equal(portOf(view), 9080);
  await writeFile(join(dir, 'reviews.yaml'), service('reviews', 9090));
  const took = await waitFor('the edited port', () => portOf(view) === 9090, 1000);
  t.ok(took < 1000, `seen after ${took} ms`);
});

t.test(
  'an invalid document is rejected alone and its last good version keeps serving',
  async (t) => {
    const { dir, registry, source, view } = await setup(t);
    const file = join(dir, 'shop.yaml');
    await writeFile(
      file,
      `${namespace('shop')}---\n${service('reviews', 9080)}---\n${service('ratings')}`,
    );
    await source.start();
    t.equal(portOf(view), 9080);

    // The new version of reviews has a port out of range; ratings changes validly.
    await writeFile(
      file,
      `${namespace('shop')}---\n${service('reviews', 70000)}---\n${service('ratings', 9999)}`,
    );
    await waitFor('the rejection', () => view.rejections().length === 1);
    const [error] = view.rejections();
    t.equal(error?.kind, 'Service');
    t.equal(error?.namespace, 'shop');
    t.equal(error?.resourceName, 'reviews');
    t.equal(error?.file, file);
    t.equal(error?.path, 'spec.ports[0].port');
    t.equal(error?.line, 18, 'the line of the offending field');
    t.equal(portOf(view), 9080, 'the last good version of reviews is still served');
    const ratingsNow = view.get(ratings);
    t.equal(ratingsNow?.type === 'Service' ? ratingsNow.spec.ports?.[0]?.port : undefined, 9999);
    t.ok(view.get(shop), 'the other documents keep serving');
    t.equal(await metric(registry, 'ambit_config_rejected_total', { kind: 'Service' }), 1);
    t.equal(await metric(registry, 'ambit_config_invalid_documents'), 1);

    await writeFile(file, `${namespace('shop')}---\n${service('reviews', 9191)}`);
    await waitFor('the fixed version', () => portOf(view) === 9191);
    t.equal(await metric(registry, 'ambit_config_invalid_documents'), 0);
    t.equal(view.get(ratings), undefined, 'ratings was removed from the file');
    t.equal(
      await metric(registry, 'ambit_config_rejected_total', { kind: 'Service' }),
      1,
      'counted once',
    );
  },
);

t.test('a file that is not YAML at all rejects nothing else and loses nothing', async (t) => {
  const { dir, registry, source, view } = await setup(t);
  await writeFile(join(dir, 'shop.yaml'), `${namespace('shop')}---\n${service('reviews')}`);
  await source.start();
  await writeFile(join(dir, 'shop.yaml'), '{ this is: [not yaml');
  await waitFor('the rejection', () => view.rejections().length === 1);
  t.ok(view.get(shop), 'objects of the broken file are kept');
  t.ok(view.get(reviews));
  t.equal(await metric(registry, 'ambit_config_rejected_total', { kind: 'unknown' }), 1);
});

t.test('a duplicate object is rejected and the first one by file path serves', async (t) => {
  const { dir, registry, source, view } = await setup(t);
  await writeFile(join(dir, 'a.yaml'), service('reviews', 1111));
  await writeFile(join(dir, 'b.yaml'), service('reviews', 2222));
  await source.start();
  t.equal(portOf(view), 1111);
  const [error] = view.rejections();
  t.equal(error?.file, join(dir, 'b.yaml'));
  t.match(error?.reason ?? '', join(dir, 'a.yaml'), 'the error names the winner too');
  t.equal(await metric(registry, 'ambit_config_rejected_total', { kind: 'Service' }), 1);
  t.equal(await metric(registry, 'ambit_config_invalid_documents'), 1);
});

t.test('deleting a file removes its objects', async (t) => {
  const { dir, source, view } = await setup(t);
  await writeFile(join(dir, 'ns.yaml'), namespace('shop'));
  await writeFile(join(dir, 'reviews.yaml'), service('reviews'));
  await source.start();
  await rm(join(dir, 'reviews.yaml'));
  await waitFor('the removal', () => view.get(reviews) === undefined);
  t.ok(view.get(shop), 'other files are untouched');
});

t.test('renaming a file keeps its objects, renaming it away from YAML removes them', async (t) => {
  const { dir, source, view } = await setup(t);
  await writeFile(join(dir, 'reviews.yaml'), service('reviews'));
  await source.start();
  const events: string[] = [];
  source.subscribe((e) => events.push(e.type));
  await rename(join(dir, 'reviews.yaml'), join(dir, 'renamed.yaml'));
  await rename(join(dir, 'renamed.yaml'), join(dir, 'renamed.txt'));
  await waitFor('the removal', () => view.get(reviews) === undefined);
  t.ok(events.length > 0);
});

t.test('a config directory that does not exist yet is read once it appears', async (t) => {
  const { dir, registry, source, view } = await setup(t, { createDirectory: false });
  await source.start();
  t.same(view.resources(), []);
  t.equal(
    await metric(registry, 'ambit_config_read_errors_total'),
    1,
    'the missing directory is counted',
  );
  await mkdir(dir);
  await writeFile(join(dir, 'ns.yaml'), namespace('shop'));
  await waitFor('the new directory', () => view.get(shop) !== undefined);
  t.pass('read after creation');
});

t.test('a file that cannot be read is counted once and everything else serves', async (t) => {
  const { dir, registry, source, view } = await setup(t);
  await writeFile(join(dir, 'ns.yaml'), namespace('shop'));
  // A symlink to itself fails with ELOOP: a real unreadable file, even for root.
  await symlink(join(dir, 'loop.yaml'), join(dir, 'loop.yaml'));
  await source.start();
  t.ok(view.get(shop));
  const firstCount = await metric(registry, 'ambit_config_read_errors_total');
  t.equal(firstCount, 1);
  await writeFile(join(dir, 'reviews.yaml'), service('reviews'));
  await waitFor('a later file', () => view.get(reviews) !== undefined);
  t.equal(await metric(registry, 'ambit_config_read_errors_total'), 1, 'not counted again');
});
