import t from 'tap';
import { parseResources } from '../../api/resources/index.js';
import { resourceKey } from './resource-key.js';
import { diffViews, resolveView } from './serving-view.js';
import type { ParsedFile, ServedView } from './serving-view.js';

function file(path: string, text: string): ParsedFile {
  return { path, ...parseResources(text, path) };
}

function entry(name: string, host: string, extra = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ${name}
  namespace: shop
spec:
  hosts: [${host}]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: DNS
${extra}`;
}

const payments = resourceKey('ServiceEntry', 'shop', 'payments');
const ledger = resourceKey('ServiceEntry', 'shop', 'ledger');

function hostOf(view: ServedView, key: ReturnType<typeof resourceKey>): string | undefined {
  const resource = view.get(key)?.resource;
  return resource?.type === 'ServiceEntry' ? resource.spec.hosts[0] : undefined;
}

t.test('every valid document of every file is served', async (t) => {
  const { served, rejected } = resolveView(
    [
      file(
        '/c/a.yaml',
        `${entry('payments', 'pay.example.com')}---\n${entry('ledger', 'ledger.example.com')}`,
      ),
    ],
    new Map(),
  );
  t.same([...served.keys()].sort(), [ledger, payments].sort());
  t.equal(rejected.length, 0);
});

t.test('an invalid version keeps the last good version of its object serving', async (t) => {
  const good = resolveView([file('/c/a.yaml', entry('payments', 'pay.example.com'))], new Map());
  const broken = file('/c/a.yaml', entry('payments', 'pay.example.com', '  location: SOMEWHERE'));
  t.equal(broken.errors.length, 1, 'the new version is invalid');
  const after = resolveView([broken], good.served);
  t.equal(hostOf(after.served, payments), 'pay.example.com');
  t.equal(after.served.get(payments)?.lastGood, true);
  t.equal(after.rejected.length, 1);
});

t.test('an invalid document without a last good version serves nothing', async (t) => {
  const { served, rejected } = resolveView(
    [file('/c/a.yaml', entry('payments', 'pay.example.com', '  location: SOMEWHERE'))],
    new Map(),
  );
  t.equal(served.size, 0);
  t.equal(rejected[0]?.kind, 'ServiceEntry');
  t.equal(rejected[0]?.resourceName, 'payments');
});

t.test('an unidentifiable broken document keeps everything its file served before', async (t) => {
  const before = resolveView(
    [
      file(
        '/c/a.yaml',
        `${entry('payments', 'pay.example.com')}---\n${entry('ledger', 'ledger.example.com')}`,
      ),
    ],
    new Map(),
  );
  // The second document lost its metadata entirely: its identity is unknown.
  const after = resolveView(
    [file('/c/a.yaml', `${entry('payments', 'pay2.example.com')}---\nkind: [`)],
    before.served,
  );
  t.equal(hostOf(after.served, payments), 'pay2.example.com', 'the valid edit is served');
  t.equal(after.served.get(ledger)?.lastGood, true, 'the unaccounted object is kept');
});

t.test(
  'the first definition of a duplicated object wins and the other is rejected naming both',
  async (t) => {
    const { served, rejected, duplicates } = resolveView(
      [
        file('/c/b.yaml', entry('payments', 'second.example.com')),
        file('/c/a.yaml', entry('payments', 'first.example.com')),
      ],
      new Map(),
    );
    t.equal(hostOf(served, payments), 'first.example.com', 'ordered by file path');
    t.equal(rejected.length, 1);
    t.equal(duplicates.length, 1);
    t.equal(rejected[0]?.file, '/c/b.yaml');
    t.match(rejected[0]?.message ?? '', /\/c\/b\.yaml:1: .*\/c\/a\.yaml:1/);
  },
);

t.test('within one file the earlier document wins', async (t) => {
  const { served, rejected } = resolveView(
    [
      file(
        '/c/a.yaml',
        `${entry('payments', 'first.example.com')}---\n${entry('payments', 'second.example.com')}`,
      ),
    ],
    new Map(),
  );
  t.equal(hostOf(served, payments), 'first.example.com');
  t.equal(rejected[0]?.line, 11, 'the second document starts on line 11');
});

t.test('a file that is gone takes its objects with it', async (t) => {
  const before = resolveView([file('/c/a.yaml', entry('payments', 'pay.example.com'))], new Map());
  const after = resolveView([], before.served);
  t.equal(after.served.size, 0);
  t.same(diffViews(before.served, after.served), { upserts: [], deletes: [payments] });
});

t.test('the diff lists only objects that changed', async (t) => {
  const before = resolveView(
    [
      file(
        '/c/a.yaml',
        `${entry('payments', 'pay.example.com')}---\n${entry('ledger', 'ledger.example.com')}`,
      ),
    ],
    new Map(),
  );
  const after = resolveView(
    [
      file(
        '/c/a.yaml',
        `${entry('payments', 'pay.example.com')}---\n${entry('ledger', 'books.example.com')}`,
      ),
    ],
    before.served,
  );
  const { upserts, deletes } = diffViews(before.served, after.served);
  t.same(
    upserts.map((r) => r.metadata.name),
    ['ledger'],
  );
  t.same(deletes, []);
});
