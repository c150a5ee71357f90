import t from 'tap';
import { WAYPOINT_SERVICE_TYPE_URL } from '../api/waypoint/config.js';
import type { Identity } from '../core/identity/spiffe.js';
import { createRegistry } from '../core/telemetry/metrics.js';
import { configDump } from './admin.js';
import { WaypointMetrics } from './metrics.js';
import { cluster, endpoint, route, service, WAYPOINT } from './proxy/testing/harness.js';
import { requestRecord } from './proxy/testing/record.js';
import { WaypointState } from './state.js';

t.test('the config dump shows services, live endpoint states and the certificate', async (t) => {
  const state = new WaypointState({ waypoint: WAYPOINT, clock: { now: () => 0 } });
  const c = { ...cluster([endpoint(8080), endpoint(8081)]), problem: 'one subset is missing' };
  state.apply(new Map([['demo/echo', service([c], [route([c])])]]), []);
  const [first] = state.cluster(c.name)!.hosts();
  first!.active = 2;
  const certificate = {
    identity: 'spiffe://cluster.local/ns/demo/sa/waypoint' as Identity,
    state: 'ready' as const,
  };
  const dump = configDump({
    waypoint: WAYPOINT,
    state,
    secrets: { certificates: () => [certificate] },
    xds: { versions: () => new Map([['demo/echo.demo.svc.cluster.local', 'v7']]) },
    ready: () => true,
  });
  t.match(dump, {
    waypoint: WAYPOINT,
    ready: true,
    services: [{ name: 'echo' }],
    clusters: [
      {
        name: c.name,
        problem: 'one subset is missing',
        circuitBreakers: { requests: 0, pending: 0 },
        endpoints: [
          { endpoint: '127.0.0.1:8080', ejected: false, activeRequests: 2 },
          { endpoint: '127.0.0.1:8081', ejected: false, activeRequests: 0 },
        ],
      },
    ],
    certificates: [certificate],
    xds: { [WAYPOINT_SERVICE_TYPE_URL]: { 'demo/echo.demo.svc.cluster.local': 'v7' } },
  });
});

t.test('finished requests are counted by response code and flags', async (t) => {
  const registry = createRegistry();
  const metrics = new WaypointMetrics(registry);
  const record = requestRecord({ status: 503, flags: ['UF', 'URX'], attempts: 3 });
  metrics.requestDone(record);
  metrics.requestDone({ ...record, status: 200, flags: [] });
  const text = await registry.metrics();
  t.match(text, 'ambit_waypoint_requests_total{response_code="503",response_flags="UF,URX"} 1');
  t.match(text, 'ambit_waypoint_requests_total{response_code="200",response_flags="-"} 1');
});
