import t from 'tap';
import type { EndpointKey } from './endpoint-state.js';
import { createLoadBalancer, HOST_SELECTION_RETRY_MAX_ATTEMPTS } from './load-balancer.js';
import { counting, draws, hosts } from './testing/fixtures.js';

const LEAST_REQUEST = { kind: 'LEAST_REQUEST' } as const;
const RANDOM = { kind: 'RANDOM' } as const;
const ROUND_ROBIN = { kind: 'ROUND_ROBIN' } as const;
const HASH = { kind: 'CONSISTENT_HASH', hashOn: { header: 'x-user' } } as const;

t.test('LEAST_REQUEST picks the less loaded of two random hosts', async (t) => {
  const h = hosts(4);
  h[0]!.active = 5;
  h[3]!.active = 1;
  // Draws land on host 1 then host 4; host 4 has fewer requests in flight.
  t.equal(createLoadBalancer(LEAST_REQUEST, draws(0.1, 0.9)).pick(h, {}), h[3]);
  t.equal(createLoadBalancer(LEAST_REQUEST, draws(0.9, 0.1)).pick(h, {}), h[3]);
});

t.test(
  'LEAST_REQUEST keeps its first draw when the second is as loaded (Envoy replaces only on fewer)',
  async (t) => {
    const h = hosts(4);
    h[0]!.active = 2;
    h[3]!.active = 2;
    t.equal(createLoadBalancer(LEAST_REQUEST, draws(0.1, 0.9)).pick(h, {}), h[0]);
  },
);

t.test('LEAST_REQUEST draws only among healthy, non-ejected hosts', async (t) => {
  const h = hosts(3);
  h[0]!.ejected = true;
  h[1]!.endpoint = { ...h[1]!.endpoint, healthy: false };
  // Whatever the draws, only host 3 is a candidate.
  t.equal(createLoadBalancer(LEAST_REQUEST, draws(0, 0.99)).pick(h, {}), h[2]);
});

t.test('ROUND_ROBIN walks the hosts in order from a random start', async (t) => {
  const h = hosts(3);
  // Start index floor(0.5 × 2^32) = 2^31, which is host 3 of 3 (2^31 mod 3 = 2).
  const lb = createLoadBalancer(ROUND_ROBIN, draws(0.5));
  t.same(
    [1, 2, 3, 4].map(() => lb.pick(h, {})?.key),
    [h[2]!.key, h[0]!.key, h[1]!.key, h[2]!.key],
  );
});

t.test('RANDOM picks the host the draw lands on', async (t) => {
  const h = hosts(4);
  t.equal(createLoadBalancer(RANDOM, draws(0.6)).pick(h, {}), h[2]);
});

t.test('CONSISTENT_HASH sends the same key to the same host every time', async (t) => {
  const h = hosts(5);
  const lb = createLoadBalancer(HASH, draws());
  for (const user of ['alice', 'bob', 'carol']) {
    const first = lb.pick(h, { hashKey: user });
    for (let i = 0; i < 20; i++) t.equal(lb.pick(h, { hashKey: user }), first);
  }
});

t.test(
  'consistent hash keeps a key on its host when another host is added... mostly',
  async (t) => {
    const before = hosts(4);
    const after = [...before, ...hosts(5).slice(4)];
    // One balancer per host set, so each builds its ring once.
    const was = createLoadBalancer(HASH, draws());
    const is = createLoadBalancer(HASH, draws());
    let moved = 0;
    let toNewHost = 0;
    for (let i = 0; i < 2000; i++) {
      const from = was.pick(before, { hashKey: `user-${i}` });
      const to = is.pick(after, { hashKey: `user-${i}` });
      if (from !== to) moved++;
      if (to === after[4]) toNewHost++;
    }
    // The new host takes about its fifth. Envoy gives each host ceil(1024 / n) entries, so a
    // fifth host also trims every host from 256 entries to 205 and the keys of the trimmed
    // entries move on: about a third move in all, where a modulo hash would move four fifths.
    t.ok(toNewHost > 250 && toNewHost < 550, `${toNewHost} of 2000 keys went to the new host`);
    t.ok(moved < 900, `${moved} of 2000 keys moved`);
  },
);

t.test('CONSISTENT_HASH without a key lands wherever the random draw puts it', async (t) => {
  const h = hosts(5);
  const seen = new Set<EndpointKey>();
  for (let i = 0; i < 10; i++) seen.add(createLoadBalancer(HASH, draws(i / 10)).pick(h, {})!.key);
  t.ok(seen.size > 1, `${seen.size} hosts reached`);
});

t.test('a retry avoids the hosts already tried', async (t) => {
  const h = hosts(4);
  // First draw lands on host 1 (tried), the second on host 3.
  const lb = createLoadBalancer(RANDOM, draws(0.1, 0.6));
  t.equal(lb.pick(h, { exclude: new Set([h[0]!.key]) }), h[2]);
});

t.test(
  'when every host was tried, the balancer redraws 5 times and then takes its last draw',
  async (t) => {
    const h = hosts(2);
    const { random, calls } = counting(0.9);
    const lb = createLoadBalancer(RANDOM, random);
    t.equal(lb.pick(h, { exclude: new Set(h.map((x) => x.key)) }), h[1]);
    t.equal(calls(), HOST_SELECTION_RETRY_MAX_ATTEMPTS + 1);
  },
);

t.test('a consistent-hash retry steps round the ring to another host', async (t) => {
  const h = hosts(3);
  const lb = createLoadBalancer(HASH, draws());
  const first = lb.pick(h, { hashKey: 'alice' })!;
  const retry = lb.pick(h, { hashKey: 'alice', exclude: new Set([first.key]) });
  t.not(retry, first);
  t.ok(retry);
});

t.test(
  'below minHealthPercent the balancer uses ejected hosts too (Istio: outlier detection off)',
  async (t) => {
    const h = hosts(4);
    for (const host of h.slice(1)) host.ejected = true;
    // 25 % healthy < 50 %: panic, so all four are candidates and the draw lands on host 4.
    t.equal(createLoadBalancer(RANDOM, draws(0.99), 50).pick(h, {}), h[3]);
    // Without a threshold only host 1 is a candidate.
    t.equal(createLoadBalancer(RANDOM, draws(0.99), 0).pick(h, {}), h[0]);
  },
);

t.test(
  'no panic while healthy hosts × 1.4 still cover the load, whatever minHealthPercent says',
  async (t) => {
    const h = hosts(10);
    h[8]!.ejected = true;
    h[9]!.ejected = true;
    // 80 % healthy is below 90 %, but Envoy's availability min(100, 80 × 1.4) is 100: no panic.
    t.equal(createLoadBalancer(RANDOM, draws(0.99), 90).pick(h, {}), h[7]);
  },
);

t.test('with every host ejected and minHealthPercent 0 there is no host (503 UH)', async (t) => {
  const h = hosts(2);
  for (const host of h) host.ejected = true;
  t.equal(createLoadBalancer(LEAST_REQUEST, draws(), 0).pick(h, {}), undefined);
});

t.test(
  'an endpoint the control plane marks unhealthy takes no traffic even in panic',
  async (t) => {
    const h = hosts(2);
    h[0]!.ejected = true;
    h[1]!.endpoint = { ...h[1]!.endpoint, healthy: false };
    // Panic over the hosts Istio would put in EDS: only host 1, ejected or not.
    t.equal(createLoadBalancer(RANDOM, draws(0.99), 100).pick(h, {}), h[0]);
  },
);
