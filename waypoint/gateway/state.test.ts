import t from 'tap';
import type { GatewayProxy } from '../../api/gateway/config.js';
import { DEFAULT_RETRY_POLICY, type HttpRoute } from '../../api/waypoint/config.js';
import { GatewayState } from './state.js';

const route = (origin: string): HttpRoute => ({
  origin,
  matches: [],
  action: { kind: 'direct', status: 200 },
  retries: DEFAULT_RETRY_POLICY,
});

const CONFIG: GatewayProxy = {
  namespace: 'istio-system',
  serviceAccount: 'ingress',
  name: 'ingress-0',
  clusters: [],
  listeners: [
    {
      port: 80,
      protocol: 'http',
      servers: [
        {
          origin: 'a',
          hosts: ['*.example.com'],
          virtualHosts: [
            { domains: ['httpbin.example.com'], routes: [route('httpbin')] },
            { domains: ['*.example.com'], routes: [route('wild')] },
          ],
          tcp: [],
        },
      ],
    },
    {
      port: 443,
      protocol: 'https',
      servers: [
        { origin: 'exact', hosts: ['httpbin.example.com'], virtualHosts: [], tcp: [] },
        { origin: 'wild', hosts: ['*.example.com'], virtualHosts: [], tcp: [] },
        { origin: 'any', hosts: ['*'], virtualHosts: [], tcp: [] },
      ],
    },
  ],
};

function state(): GatewayState {
  const s = new GatewayState({
    namespace: 'istio-system',
    serviceAccount: 'ingress',
    name: 'ingress-0',
    clock: { now: () => 0 },
  });
  s.apply(new Map([['istio-system/ingress/ingress-0', CONFIG]]), []);
  return s;
}

t.test(
  'a request is routed by the most specific virtual host of its Host, port ignored',
  async (t) => {
    const s = state();
    t.equal(s.httpTarget(80, undefined, 'httpbin.example.com:80').routes[0]?.origin, 'httpbin');
    t.equal(s.httpTarget(80, undefined, 'HTTPBIN.example.com').routes[0]?.origin, 'httpbin');
    t.equal(s.httpTarget(80, undefined, 'x.example.com').routes[0]?.origin, 'wild');
    t.same(s.httpTarget(80, undefined, 'other.org').routes, [], 'unknown host: no routes (404)');
  },
);

t.test('SNI picks the most specific server; no SNI only a * server', async (t) => {
  const s = state();
  t.equal(s.serverFor(443, 'httpbin.example.com')?.origin, 'exact');
  t.equal(s.serverFor(443, 'x.example.com')?.origin, 'wild');
  t.equal(s.serverFor(443, 'other.org')?.origin, 'any');
  t.equal(s.serverFor(443, undefined)?.origin, 'any');
  t.equal(s.serverFor(8443, 'httpbin.example.com'), undefined);
});

t.test('config for another gateway is ignored; removal of its own empties it', async (t) => {
  const s = state();
  s.apply(
    new Map([['istio-system/ingress/ingress-1', { ...CONFIG, name: 'ingress-1', listeners: [] }]]),
    [],
  );
  t.ok(s.listener(80), 'still serving its own');
  s.apply(new Map(), ['istio-system/ingress/ingress-0']);
  t.equal(s.listener(80), undefined);
});

t.test("every virtual host carries the gateway's telemetry settings", async (t) => {
  const s = state();
  t.equal(s.httpTarget(80, undefined, 'httpbin.example.com').service.telemetry, undefined);
  const telemetry = {
    tracing: { providers: ['otel'], disableSpanReporting: false },
    workloads: {},
    source: {
      workload: 'ingress',
      namespace: 'istio-system',
      canonicalService: 'ingress',
      canonicalRevision: 'latest',
      cluster: 'Kubernetes',
    },
  };
  s.apply(new Map([['istio-system/ingress/ingress-0', { ...CONFIG, telemetry }]]), []);
  t.equal(s.httpTarget(80, undefined, 'httpbin.example.com').service.telemetry, telemetry);
  t.equal(s.httpTarget(80, undefined, 'other.org').service.telemetry, telemetry, 'unknown host');
  t.equal(s.services().length, 2, 'one per listener, for the collectors in use');
  t.ok(s.services().every((service) => service.telemetry === telemetry));
});
