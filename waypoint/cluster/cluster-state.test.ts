import t from 'tap';
import { ClusterState } from './cluster-state.js';
import { cluster, draws, endpoint, manualClock, OUTLIER, POLICY } from './testing/fixtures.js';

const FIVE_503 = Array.from({ length: 5 }, () => ({ kind: 'response', status: 503 }) as const);

t.test(
  'a config push keeps what is known of endpoints that stay and starts new ones fresh',
  async (t) => {
    const state = new ClusterState(cluster([endpoint(1), endpoint(2)]), manualClock());
    const [one, two] = state.hosts();
    one!.active = 3;
    for (const outcome of FIVE_503) state.report(two!, outcome);
    t.ok(two!.ejected);

    state.update(cluster([endpoint(2), endpoint(3)]));
    const [stays, fresh] = state.hosts();
    t.equal(stays, two, 'the same state object, so requests in flight release on it');
    t.ok(stays!.ejected, 'still ejected');
    t.same({ active: fresh!.active, ejected: fresh!.ejected }, { active: 0, ejected: false });
    t.equal(state.hosts().length, 2, 'endpoint 1 is gone');
  },
);

t.test('a push that changes an endpoint updates it in place', async (t) => {
  const state = new ClusterState(cluster([endpoint(1)]), manualClock());
  const host = state.hosts()[0]!;
  state.update(cluster([{ ...endpoint(1), identity: 'spiffe://cluster.local/ns/demo/sa/other' }]));
  t.equal(state.hosts()[0], host);
  t.equal(host.endpoint.identity, 'spiffe://cluster.local/ns/demo/sa/other');
});

t.test('an endpoint removed and added back starts fresh', async (t) => {
  const clock = manualClock();
  const state = new ClusterState(cluster([endpoint(1), endpoint(2)]), clock);
  for (const outcome of FIVE_503) state.report(state.hosts()[0]!, outcome);
  state.update(cluster([endpoint(2)]));
  state.update(cluster([endpoint(1), endpoint(2)]));
  t.notOk(state.hosts()[0]!.ejected);
});

t.test('an endpoint the control plane marks unhealthy loses its ejection', async (t) => {
  const state = new ClusterState(cluster([endpoint(1), endpoint(2)]), manualClock());
  for (const outcome of FIVE_503) state.report(state.hosts()[0]!, outcome);
  state.update(cluster([endpoint(1, false), endpoint(2)]));
  t.notOk(state.hosts()[0]!.ejected);
});

t.test('removing outlier detection readmits every host', async (t) => {
  const state = new ClusterState(cluster([endpoint(1), endpoint(2)]), manualClock());
  for (const outcome of FIVE_503) state.report(state.hosts()[0]!, outcome);
  state.update(cluster([endpoint(1), endpoint(2)], { outlierDetection: undefined }));
  t.notOk(state.hosts()[0]!.ejected);
  t.equal(state.outlier, undefined);
  t.notOk(state.report(state.hosts()[0]!, { kind: 'connect-failure' }), 'nothing to report to');
});

t.test('pick avoids the host outlier detection ejected, and sweep brings it back', async (t) => {
  const clock = manualClock();
  const state = new ClusterState(
    cluster([endpoint(1), endpoint(2)], { loadBalancer: { kind: 'RANDOM' } }),
    clock,
    draws(0.1, 0.1),
  );
  const [one, two] = state.hosts();
  for (const outcome of FIVE_503) state.report(one!, outcome);
  t.equal(state.pick(), two, 'the draw that would land on host 1 lands on host 2');
  clock.advance(OUTLIER.baseEjectionTimeMs);
  t.same(state.sweep(), [one]);
  t.equal(state.pick(), one);
});

t.test('minHealthPercent from a push takes effect on the next pick', async (t) => {
  const state = new ClusterState(
    cluster([endpoint(1), endpoint(2)], { loadBalancer: { kind: 'RANDOM' } }),
    manualClock(),
    draws(0.9, 0.9),
  );
  for (const outcome of FIVE_503) state.report(state.hosts()[1]!, outcome);
  t.equal(state.pick(), state.hosts()[0]);
  state.update(
    cluster([endpoint(1), endpoint(2)], {
      loadBalancer: { kind: 'RANDOM' },
      outlierDetection: { ...OUTLIER, minHealthPercent: 60 },
    }),
  );
  t.equal(state.pick(), state.hosts()[1], '50 % healthy < 60 %: panic uses the ejected host');
});

t.test('circuit-breaker limits follow the config and counts carry over', async (t) => {
  const pool = (http2MaxRequests: number) => ({
    connectionPool: { ...POLICY.connectionPool, http2MaxRequests },
  });
  const state = new ClusterState(cluster([endpoint(1)], pool(2)), manualClock());
  t.ok(state.breaker.tryRequest());
  state.update(cluster([endpoint(1)], pool(1)));
  t.notOk(state.breaker.tryRequest());
});
