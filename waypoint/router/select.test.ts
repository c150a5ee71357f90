import t from 'tap';
import type { RouteDestination } from '../../api/waypoint/config.js';
import { pickDestination } from './select.js';

const d = (cluster: string, weight: number): RouteDestination => ({ cluster, weight });

t.test('weights are relative: 1 and 3 split a quarter and three quarters', async (t) => {
  const destinations = [d('v1', 1), d('v2', 3)];
  const cases: [number, string][] = [
    [0, 'v1'],
    [0.2499, 'v1'],
    [0.25, 'v2'],
    [0.9999, 'v2'],
  ];
  for (const [random, cluster] of cases) {
    t.equal(pickDestination(destinations, () => random)?.cluster, cluster, `random ${random}`);
  }
});

t.test('weights that do not sum to 100 are fine (Istio)', async (t) => {
  const destinations = [d('v1', 10), d('v2', 10), d('v3', 20)];
  const counts = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const cluster = pickDestination(destinations, () => i / 400)?.cluster ?? 'none';
    counts.set(cluster, (counts.get(cluster) ?? 0) + 1);
  }
  t.strictSame(Object.fromEntries(counts), { v1: 100, v2: 100, v3: 200 });
});

t.test('a destination with weight 0 is never chosen', async (t) => {
  const destinations = [d('dark', 0), d('v1', 50), d('off', 0), d('v2', 50)];
  for (const random of [0, 0.5, 0.999999, 1]) {
    t.not(pickDestination(destinations, () => random)?.cluster, 'dark', `random ${random}`);
    t.not(pickDestination(destinations, () => random)?.cluster, 'off', `random ${random}`);
  }
});

t.test('a random source returning 1 still picks the last weighted destination', async (t) => {
  t.equal(pickDestination([d('v1', 1), d('v2', 1), d('off', 0)], () => 1)?.cluster, 'v2');
});

t.test('nothing to pick without a positive weight', async (t) => {
  t.equal(
    pickDestination([], () => 0),
    undefined,
  );
  t.equal(
    pickDestination([d('v1', 0)], () => 0),
    undefined,
  );
});
