import t from 'tap';
import { SnapshotCache, diff, resourceVersion, typeSnapshot } from './snapshot.js';

const TYPE = 'type.googleapis.com/istio.workload.Address';
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

t.test('a resource version is a short hash of its bytes, the same on every run', async (t) => {
  const v = resourceVersion(bytes('workload a'));
  t.match(v, /^[0-9a-f]{16}$/);
  t.equal(resourceVersion(bytes('workload a')), v);
  t.not(resourceVersion(bytes('workload b')), v);
});

t.test(
  'a type snapshot version changes when any resource changes, not with map order',
  async (t) => {
    const a = typeSnapshot(
      TYPE,
      new Map([
        ['a', bytes('1')],
        ['b', bytes('2')],
      ]),
    );
    const reordered = typeSnapshot(
      TYPE,
      new Map([
        ['b', bytes('2')],
        ['a', bytes('1')],
      ]),
    );
    const changed = typeSnapshot(
      TYPE,
      new Map([
        ['a', bytes('1')],
        ['b', bytes('3')],
      ]),
    );
    const renamed = typeSnapshot(
      TYPE,
      new Map([
        ['a', bytes('1')],
        ['c', bytes('2')],
      ]),
    );
    t.equal(reordered.version, a.version);
    t.not(changed.version, a.version);
    t.not(renamed.version, a.version);
  },
);

t.test('diff sends new and changed resources and removes vanished ones', async (t) => {
  const current = typeSnapshot(
    TYPE,
    new Map([
      ['same', bytes('s')],
      ['changed', bytes('new')],
      ['new', bytes('n')],
    ]),
  ).resources;
  const known = new Map([
    ['same', resourceVersion(bytes('s'))],
    ['changed', resourceVersion(bytes('old'))],
    ['gone', resourceVersion(bytes('g'))],
  ]);
  t.strictSame(diff(known, current), { upserts: ['changed', 'new'], removals: ['gone'] });
});

t.test('diff against nothing held sends everything and removes nothing', async (t) => {
  const current = typeSnapshot(
    TYPE,
    new Map([
      ['b', bytes('2')],
      ['a', bytes('1')],
    ]),
  ).resources;
  t.strictSame(diff(new Map(), current), { upserts: ['a', 'b'], removals: [] });
});

t.test('diff sends only the names a subscriber wants', async (t) => {
  const current = typeSnapshot(
    TYPE,
    new Map([
      ['a', bytes('1')],
      ['b', bytes('2')],
    ]),
  ).resources;
  const known = new Map([['x', 'v']]);
  t.strictSame(
    diff(known, current, (name) => name === 'a'),
    { upserts: ['a'], removals: ['x'] },
  );
});

t.test('the cache reports no change when a type is set to the same content', async (t) => {
  const cache = new SnapshotCache();
  t.equal(cache.get(TYPE), undefined);
  const first = cache.set(TYPE, new Map([['a', bytes('1')]]));
  t.ok(first);
  t.equal(cache.set(TYPE, new Map([['a', bytes('1')]])), undefined);
  t.equal(cache.get(TYPE), first);
  const second = cache.set(TYPE, new Map());
  t.ok(second);
  t.equal(second?.resources.size, 0);
  t.equal(cache.get(TYPE), second);
});

t.test('an empty type is a snapshot, distinct from a type never set', async (t) => {
  const cache = new SnapshotCache();
  t.ok(cache.set(TYPE, new Map()));
  t.equal(cache.get(TYPE)?.resources.size, 0);
  t.equal(cache.get('type.googleapis.com/other'), undefined);
});
