import t from 'tap';
import { cluster, endpoint, route, service, VIP, WAYPOINT } from './proxy/testing/harness.js';
import { DEFAULT_RETRY_POLICY } from '../api/waypoint/config.js';
import { WaypointState } from './state.js';

const clock = { now: () => 0 };

t.test('a tunnel finds its service by VIP and port', async (t) => {
  const state = new WaypointState({ waypoint: WAYPOINT, clock });
  const c = cluster([endpoint(8080)]);
  state.apply(new Map([['demo/echo', service([c], [route([c])])]]), []);
  t.equal(state.target(VIP, 80)?.service.name, 'echo');
  t.equal(state.target(VIP, 81), undefined, 'a port the service does not have');
  t.equal(state.target('10.96.0.99', 80), undefined);
  state.apply(new Map(), ['demo/echo']);
  t.equal(state.target(VIP, 80), undefined, 'a removed service is gone');
});

t.test('services bound to another waypoint are not served', async (t) => {
  const state = new WaypointState({ waypoint: WAYPOINT, clock });
  state.apply(new Map([['demo/echo', service([], [], { waypoint: 'demo/other' })]]), []);
  t.equal(state.target(VIP, 80), undefined);
  t.same(state.services(), []);
});

t.test("a service without routes gets Istio's default route to its port", async (t) => {
  const state = new WaypointState({ waypoint: WAYPOINT, clock });
  const c = cluster([endpoint(8080)]);
  state.apply(new Map([['demo/echo', service([c], [])]]), []);
  const [only] = state.target(VIP, 80)?.routes ?? [];
  t.match(only, {
    matches: [],
    action: { kind: 'route', destinations: [{ cluster: c.name, weight: 100 }] },
    retries: DEFAULT_RETRY_POLICY,
  });
  t.equal(only?.timeoutMs, undefined, 'no timeout unless set');
});

t.test('a push keeps what a cluster knows about endpoints that stay', async (t) => {
  const state = new WaypointState({ waypoint: WAYPOINT, clock });
  const policy = {
    outlierDetection: {
      consecutive5xxErrors: 1,
      intervalMs: 10_000,
      baseEjectionTimeMs: 30_000,
      maxEjectionPercent: 100,
      minHealthPercent: 0,
    },
  };
  const before = cluster([endpoint(8080), endpoint(8081)], { policy });
  state.apply(new Map([['demo/echo', service([before], [route([before])])]]), []);
  const live = state.cluster(before.name)!;
  live.hosts()[0]!.ejected = true;
  live.hosts()[0]!.active = 3;
  const after = cluster([endpoint(8080), endpoint(8082)], { policy });
  state.apply(new Map([['demo/echo', service([after], [route([after])])]]), []);
  t.equal(state.cluster(after.name), live, 'the same cluster state');
  t.match(
    live.hosts().map((h) => [h.key, h.ejected, h.active]),
    [
      ['127.0.0.1:8080', true, 3],
      ['127.0.0.1:8082', false, 0],
    ],
  );
});

t.test('a cluster no service routes to any more is dropped and listeners hear of it', async (t) => {
  const state = new WaypointState({ waypoint: WAYPOINT, clock });
  const heard: string[][] = [];
  state.onClustersChanged((clusters) => heard.push([...clusters.keys()]));
  const c = cluster([endpoint(8080)]);
  state.apply(new Map([['demo/echo', service([c], [route([c])])]]), []);
  state.apply(new Map(), ['demo/echo']);
  t.equal(state.cluster(c.name), undefined);
  t.same(heard, [[c.name], []]);
});
