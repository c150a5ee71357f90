import t from 'tap';
import type { OutlierDetection } from '../../api/waypoint/config.js';
import type { EndpointState } from './endpoint-state.js';
import { OutlierDetector, outlierResultOf, type OutlierResult } from './outlier.js';
import { hosts, manualClock, OUTLIER } from './testing/fixtures.js';

function detector(policy: Partial<OutlierDetection> = {}) {
  const clock = manualClock();
  return { clock, od: new OutlierDetector({ ...OUTLIER, ...policy }, clock) };
}

function fail(
  od: OutlierDetector,
  host: EndpointState,
  all: EndpointState[],
  times: number,
  result: OutlierResult = '5xx',
) {
  let ejected = false;
  for (let i = 0; i < times; i++) ejected = od.record(host.key, result, all) || ejected;
  return ejected;
}

t.test(
  'an endpoint is ejected after 5 consecutive 5xx and readmitted after baseEjectionTime',
  async (t) => {
    const { clock, od } = detector();
    const h = hosts(3);
    t.notOk(fail(od, h[0]!, h, 4), 'four errors are not enough');
    t.ok(fail(od, h[0]!, h, 1), 'the fifth ejects');
    t.ok(h[0]!.ejected);
    clock.advance(29_999);
    t.same(od.sweep(h), [], 'not before 30 s');
    clock.advance(1);
    t.same(od.sweep(h), [h[0]], 'readmitted at the first sweep after 30 s');
    t.notOk(h[0]!.ejected);
  },
);

t.test('a success in between starts the count over', async (t) => {
  const { od } = detector();
  const h = hosts(3);
  fail(od, h[0]!, h, 4);
  od.record(h[0]!.key, 'success', h);
  t.notOk(fail(od, h[0]!, h, 4));
  t.notOk(h[0]!.ejected);
});

t.test('the second ejection lasts twice as long', async (t) => {
  const { clock, od } = detector();
  const h = hosts(3);
  fail(od, h[0]!, h, 5);
  clock.advance(30_000);
  od.sweep(h);
  // Ejected again before the next sweep could shed a step of backoff.
  fail(od, h[0]!, h, 5);
  t.ok(h[0]!.ejected);
  clock.advance(30_000);
  t.same(od.sweep(h), [], 'still out after 30 s');
  clock.advance(30_000);
  t.same(od.sweep(h), [h[0]], 'back after 60 s');
});

t.test(
  'each interval a readmitted host stays healthy sheds one step: later ejections are short again',
  async (t) => {
    const { clock, od } = detector();
    const h = hosts(3);
    fail(od, h[0]!, h, 5);
    clock.advance(30_000);
    od.sweep(h);
    fail(od, h[0]!, h, 5);
    clock.advance(60_000);
    od.sweep(h); // readmitted with backoff 2
    for (let i = 0; i < 2; i++) {
      clock.advance(10_000);
      od.sweep(h); // one interval healthy each: backoff 2 → 1 → 0
    }
    fail(od, h[0]!, h, 5);
    clock.advance(30_000);
    t.same(od.sweep(h), [h[0]], 'the third ejection lasts the base time');
  },
);

t.test('an ejection lasts at most max(300 s, baseEjectionTime)', async (t) => {
  const { clock, od } = detector({ baseEjectionTimeMs: 100_000 });
  const h = hosts(3);
  for (const lasts of [100_000, 200_000, 300_000, 300_000]) {
    fail(od, h[0]!, h, 5);
    clock.advance(lasts - 1);
    t.same(od.sweep(h), [], `out for ${lasts} ms`);
    clock.advance(1);
    t.same(od.sweep(h), [h[0]], `back after ${lasts} ms`);
  }
});

t.test(
  'maxEjectionPercent 10 with 3 hosts ejects no host: Envoy ≥ 1.27 counts the ejection itself',
  async (t) => {
    // Envoy once let the first ejection through whatever the cap (the "small-cluster effect");
    // since envoyproxy/envoy#27909 it ejects only if (ejected + 1) / hosts ≤ max, and Istio
    // does not set always_eject_one_host. One host of 3 is 33 % > 10 %.
    const { od } = detector({ maxEjectionPercent: 10 });
    const h = hosts(3);
    t.notOk(fail(od, h[0]!, h, 5));
    t.notOk(h[0]!.ejected);
  },
);

t.test('maxEjectionPercent 10 with 10 hosts ejects one host and refuses the second', async (t) => {
  const { od } = detector({ maxEjectionPercent: 10 });
  const h = hosts(10);
  t.ok(fail(od, h[0]!, h, 5), '1 of 10 is 10 %');
  t.notOk(fail(od, h[1]!, h, 5), '2 of 10 would be 20 %');
});

t.test(
  'a refused ejection starts the count over: the next try needs another full run',
  async (t) => {
    const { clock, od } = detector({ maxEjectionPercent: 50 });
    const h = hosts(2);
    fail(od, h[0]!, h, 5);
    t.notOk(fail(od, h[1]!, h, 5), '2 of 2 would be 100 %');
    clock.advance(30_000);
    t.same(od.sweep(h), [h[0]]);
    t.notOk(fail(od, h[1]!, h, 4), 'with host 1 back, four more are not a run of five');
    t.ok(fail(od, h[1]!, h, 1));
  },
);

t.test('maxEjectionPercent 0 means Istio’s default of 10 %', async (t) => {
  const { od } = detector({ maxEjectionPercent: 0 });
  const h = hosts(10);
  t.ok(fail(od, h[0]!, h, 5));
  t.notOk(fail(od, h[1]!, h, 5));
});

t.test(
  'consecutiveGatewayErrors ejects on a run of 502/503/504; a 500 breaks the run',
  async (t) => {
    const { od } = detector({ consecutive5xxErrors: 0, consecutiveGatewayErrors: 3 });
    const h = hosts(3);
    fail(od, h[0]!, h, 2, 'gateway-error');
    fail(od, h[0]!, h, 1, '5xx');
    t.notOk(fail(od, h[0]!, h, 2, 'gateway-error'));
    t.ok(fail(od, h[0]!, h, 1, 'gateway-error'));
  },
);

t.test('gateway errors count toward consecutive5xxErrors too', async (t) => {
  const { od } = detector({ consecutive5xxErrors: 4 });
  const h = hosts(3);
  fail(od, h[0]!, h, 2, 'gateway-error');
  t.ok(fail(od, h[0]!, h, 2, '5xx'));
});

t.test(
  'consecutive5xxErrors absent (or 0) never ejects on 5xx: the control plane writes Istio’s 5',
  async (t) => {
    for (const consecutive5xxErrors of [undefined, 0]) {
      const { od } = detector({ consecutive5xxErrors });
      const h = hosts(3);
      t.notOk(fail(od, h[0]!, h, 50), `consecutive5xxErrors ${consecutive5xxErrors}`);
    }
  },
);

t.test('results for a host outside the cluster, or not in EDS, are ignored', async (t) => {
  const { od } = detector();
  const h = hosts(3);
  h[0]!.endpoint = { ...h[0]!.endpoint, healthy: false };
  t.notOk(fail(od, h[0]!, h, 5));
  t.notOk(fail(od, hosts(4)[3]!, h, 5));
});

t.test('a forgotten host comes back with no backoff', async (t) => {
  const { clock, od } = detector();
  const h = hosts(3);
  fail(od, h[0]!, h, 5);
  clock.advance(30_000);
  od.sweep(h);
  od.retain(new Set([h[1]!.key, h[2]!.key]));
  fail(od, h[0]!, h, 5);
  clock.advance(30_000);
  t.same(od.sweep(h), [h[0]], 'ejected for the base time, not twice it');
});

t.test(
  'locally originated failures count as 5xx: connect failure and reset 503, per-try timeout 504',
  async (t) => {
    t.equal(outlierResultOf({ kind: 'connect-failure' }), 'gateway-error');
    t.equal(outlierResultOf({ kind: 'reset' }), 'gateway-error');
    t.equal(outlierResultOf({ kind: 'refused-stream' }), 'gateway-error');
    t.equal(outlierResultOf({ kind: 'timeout' }), 'gateway-error');
  },
);

t.test(
  'responses count by status: 502–504 gateway errors, other 5xx, the rest success',
  async (t) => {
    const table: [number, OutlierResult][] = [
      [200, 'success'],
      [404, 'success'],
      [429, 'success'],
      [500, '5xx'],
      [501, '5xx'],
      [502, 'gateway-error'],
      [503, 'gateway-error'],
      [504, 'gateway-error'],
      [599, '5xx'],
    ];
    for (const [status, result] of table)
      t.equal(outlierResultOf({ kind: 'response', status }), result, `${status}`);
  },
);

t.test('a gRPC response counts by its grpc-status mapped to HTTP', async (t) => {
  const grpc = (code: string) =>
    outlierResultOf({ kind: 'response', status: 200, headers: { 'grpc-status': code } });
  t.equal(grpc('0'), 'success');
  t.equal(grpc('5'), 'success', 'NOT_FOUND is 404');
  t.equal(grpc('13'), '5xx', 'INTERNAL is 500');
  t.equal(grpc('14'), 'gateway-error', 'UNAVAILABLE is 503');
  t.equal(grpc('4'), 'gateway-error', 'DEADLINE_EXCEEDED is 504');
  t.equal(grpc('nonsense'), '5xx', 'an invalid status is 500');
});
