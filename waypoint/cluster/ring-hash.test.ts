import t from 'tap';
import { RingHash } from './ring-hash.js';
import { hosts } from './testing/fixtures.js';

t.test('the ring holds at least 1024 entries, shared equally among hosts', async (t) => {
  const h = hosts(3);
  const ring = new RingHash(h);
  // ceil(1024 / 3) = 342 entries per host.
  t.equal(ring.size, 1026);
  t.equal(new RingHash([]).size, 0);
});

t.test(
  'hashes below the first entry and above the last land on the first entry: the ring wraps',
  async (t) => {
    const ring = new RingHash(hosts(4));
    t.equal(ring.choose(0n, 0), ring.choose(0xffffffffffffffffn, 0));
  },
);

t.test('an empty ring has no host', async (t) => {
  t.equal(new RingHash([]).choose(42n, 0), undefined);
});
