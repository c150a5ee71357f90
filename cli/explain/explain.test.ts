import t from 'tap';
import { ExplainInputError } from './errors.js';
import { explain } from './explain.js';
import type { Explanation, Step } from './explanation.js';
import { renderExplanation } from './render.js';
import { reviewsRoutes, served } from './testing/mesh.js';

function step<K extends Step['kind']>(e: Explanation, kind: K): Extract<Step, { kind: K }> {
  const found = e.steps.find((s) => s.kind === kind);
  if (found === undefined) throw new Error(`no ${kind} step in ${renderExplanation(e)}`);
  return found as Extract<Step, { kind: K }>;
}

const BY_USER = reviewsRoutes(`
  - match: [{ headers: { end-user: { exact: jason } } }]
    route: [{ destination: { host: reviews, subset: v2 } }]
  - route: [{ destination: { host: reviews, subset: v1 } }]`);

t.test(
  'a header match routes to a subset, and the earlier route says why it did not match',
  async (t) => {
    const config = served(BY_USER);
    const jason = explain(config, {
      from: 'shop/client',
      to: 'reviews:9080',
      headers: { 'End-User': 'jason' },
    });
    t.equal(jason.outcome.kind, 'routed');
    t.same(
      jason.outcome.endpoints?.map((e) => e.workload),
      ['shop/reviews-v2'],
    );
    t.match(
      jason.outcome.summary,
      /routed to shop\/reviews-v2 \(10\.0\.0\.12:8080\) via waypoint shop\/waypoint/,
    );
    t.equal(step(jason, 'route').matched?.index, 0);
    t.same(
      step(jason, 'destinations').destinations.map((d) => [d.subset, d.percent]),
      [['v2', 100]],
    );

    const anonymous = explain(config, { from: 'shop/client', to: 'reviews:9080' });
    t.same(
      anonymous.outcome.endpoints?.map((e) => e.workload),
      ['shop/reviews-v1'],
    );
    const routes = step(anonymous, 'route').routes;
    t.same(
      routes.map((r) => r.matched),
      [false, true],
    );
    t.equal(routes[0]!.reason, 'header end-user absent');
    t.same(
      anonymous.steps.map((s) => s.kind),
      [
        'capture',
        'destination',
        'tunnel',
        'waypoint-authorization',
        'route',
        'resilience',
        'destinations',
        'node-tunnel-authorization',
      ],
    );
    t.equal(step(anonymous, 'tunnel').reason, 'namespace shop has istio.io/use-waypoint=waypoint');
    t.equal(step(anonymous, 'capture').nodeTunnel, 'ztunnel on node-1');
  },
);

t.test('HOST may be a short name, name.namespace, the FQDN or the VIP', async (t) => {
  const config = served(BY_USER);
  for (const to of [
    'reviews:9080',
    'reviews.shop:9080',
    'reviews.shop.svc.cluster.local:9080',
    '10.96.0.10:9080',
  ]) {
    const e = explain(config, { from: 'shop/client', to });
    t.equal(step(e, 'destination').service, 'shop/reviews.shop.svc.cluster.local', to);
  }
  t.throws(() => explain(config, { from: 'shop/client', to: 'nowhere:80' }), ExplainInputError);
  t.throws(() => explain(config, { from: 'shop/nobody', to: 'reviews:9080' }), ExplainInputError);
  t.throws(() => explain(config, { from: 'shop/client', to: 'reviews' }), ExplainInputError);
});

t.test('a retry policy and timeout are shown as the waypoint applies them', async (t) => {
  const config = served(
    reviewsRoutes(`
  - route: [{ destination: { host: reviews, subset: v1 } }]
    timeout: 5s
    retries: { attempts: 3, perTryTimeout: 2s, retryOn: "5xx,reset" }`),
  );
  const e = explain(config, { from: 'shop/client', to: 'reviews:9080' });
  const resilience = step(e, 'resilience');
  t.equal(resilience.timeoutMs, 5000);
  t.same(resilience.retries.attempts, 3);
  t.same(resilience.retries.retryOn, ['5xx', 'reset']);
  t.equal(resilience.retries.perTryTimeoutMs, 2000);
  t.match(
    resilience.summary,
    /route timeout 5000 ms; up to 3 retries on 5xx,reset, 2000 ms per try/,
  );
});

t.test('a fault abort at 100% is the outcome; below 100% it is a chance', async (t) => {
  const abort = (percent: number) =>
    served(
      reviewsRoutes(`
  - route: [{ destination: { host: reviews } }]
    fault: { abort: { httpStatus: 503, percentage: { value: ${percent} } }, delay: { fixedDelay: 1s, percentage: { value: 10 } } }`),
    );
  const always = explain(abort(100), { from: 'shop/client', to: 'reviews:9080' });
  t.same(
    { ...always.outcome, summary: undefined },
    { kind: 'fault-abort', status: 503, flags: ['FI'], summary: undefined },
  );
  t.match(always.outcome.summary, /503 fault abort 100%/);
  t.same(step(always, 'fault').delay, { fixedDelayMs: 1000, percent: 10 });
  t.notOk(
    always.steps.some((s) => s.kind === 'node-tunnel-authorization'),
    'no workload is reached',
  );

  const sometimes = explain(abort(25), { from: 'shop/client', to: 'reviews:9080' });
  t.equal(sometimes.outcome.kind, 'routed');
  t.match(sometimes.outcome.chance, /25% of requests are aborted with 503/);
});

t.test('weighted destinations are listed with their share', async (t) => {
  const config = served(
    reviewsRoutes(`
  - route: [{ destination: { host: reviews, subset: v1 }, weight: 75 }, { destination: { host: reviews, subset: v2 }, weight: 25 }]
    mirror: { host: reviews, subset: v2 }`),
  );
  const e = explain(config, { from: 'shop/client', to: 'reviews:9080' });
  t.same(
    step(e, 'destinations').destinations.map((d) => [d.subset, d.percent]),
    [
      ['v1', 75],
      ['v2', 25],
    ],
  );
  t.equal(step(e, 'destinations').mirrors.length, 1);
  t.same(
    e.outcome.endpoints?.map((x) => x.workload),
    ['shop/reviews-v1', 'shop/reviews-v2'],
  );
  t.match(e.outcome.chance, /v1 75%, v2 25%/);
});

t.test('no route is 404 NR; a missing subset is 503 NC', async (t) => {
  const onlyApi = served(
    reviewsRoutes(
      `[{ match: [{ uri: { prefix: /api } }], route: [{ destination: { host: reviews } }] }]`,
    ),
  );
  const none = explain(onlyApi, { from: 'shop/client', to: 'reviews:9080', path: '/web' });
  t.same([none.outcome.kind, none.outcome.status, none.outcome.flags], ['no-route', 404, ['NR']]);
  const missing = served(
    reviewsRoutes(`[{ route: [{ destination: { host: reviews, subset: v3 } }] }]`),
  );
  const nc = explain(missing, { from: 'shop/client', to: 'reviews:9080' });
  t.same([nc.outcome.kind, nc.outcome.status, nc.outcome.flags], ['no-cluster', 503, ['NC']]);
});

const ONLY_OTHERS = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: only-others, namespace: shop }
spec:
  selector: { matchLabels: { app: secure } }
  action: ALLOW
  rules: [{ from: [{ source: { principals: [cluster.local/ns/shop/sa/others] } }] }]`;

t.test('an L4 policy at the destination node tunnel denies: the connection is reset', async (t) => {
  const e = explain(served(ONLY_OTHERS), { from: 'shop/client', to: 'secure:9080' });
  t.equal(e.outcome.kind, 'denied');
  t.equal(e.outcome.connectionReset, true);
  t.match(e.outcome.summary, /no ALLOW policy matched at the node tunnel of shop\/secure-0/);
  const [decision] = step(e, 'node-tunnel-authorization').decisions;
  t.equal(decision?.allowed, false);
  t.same(decision?.policies, [{ policy: 'shop/only-others', action: 'ALLOW', matched: false }]);
  t.equal(decision?.peer.identity, 'spiffe://cluster.local/ns/shop/sa/client');
  t.equal(step(e, 'tunnel').via, 'direct');

  const allowed = explain(served(ONLY_OTHERS.replace('sa/others', 'sa/client')), {
    from: 'shop/client',
    to: 'secure:9080',
  });
  t.equal(allowed.outcome.kind, 'routed');
  t.equal(step(allowed, 'node-tunnel-authorization').decisions[0]?.policy, 'shop/only-others');
});

t.test('behind a waypoint the node tunnel sees the waypoint, and a denial is 503 UF', async (t) => {
  const denyWaypoint = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: no-waypoint, namespace: shop }
spec:
  selector: { matchLabels: { app: reviews } }
  action: DENY
  rules: [{ from: [{ source: { principals: [cluster.local/ns/shop/sa/waypoint] } }] }]`;
  const e = explain(served(denyWaypoint), { from: 'shop/client', to: 'reviews:9080' });
  t.same([e.outcome.kind, e.outcome.status, e.outcome.flags], ['denied', 503, ['UF', 'URX']]);
  t.equal(step(e, 'node-tunnel-authorization').decisions[0]?.policy, 'shop/no-waypoint');
});

t.test('a client outside the mesh bypasses the waypoint and STRICT refuses it', async (t) => {
  const outside = `apiVersion: v1
kind: Pod
metadata: { name: legacy, namespace: shop, labels: { app: legacy, istio.io/dataplane-mode: none } }
spec: { nodeName: node-1, containers: [{ name: app }] }
status: { phase: Running, podIP: 10.0.0.50, conditions: [{ type: Ready, status: "True" }] }`;
  const strict = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: strict, namespace: shop }
spec: { mtls: { mode: STRICT } }`;
  const e = explain(served(outside, strict), { from: 'shop/legacy', to: 'reviews:9080' });
  t.equal(step(e, 'capture').captured, false);
  t.match(step(e, 'capture').reason, /pod label istio.io\/dataplane-mode=none/);
  t.equal(step(e, 'tunnel').via, 'plaintext');
  t.equal(e.outcome.kind, 'denied');
  const decision = step(e, 'node-tunnel-authorization').decisions[0];
  t.equal(decision?.mtls, 'STRICT');
  t.equal(decision?.peer.identity, undefined);
  const permissive = explain(served(outside), { from: '10.0.0.50', to: 'reviews:9080' });
  t.equal(permissive.outcome.kind, 'routed', 'PERMISSIVE takes plaintext');
});

t.test('an L7 evaluator plugs in at the waypoint', async (t) => {
  const config = served(BY_USER);
  const e = explain(
    config,
    { from: 'shop/client', to: 'reviews:9080' },
    {
      l7: ({ request, sourceIdentity }) => ({
        at: 'shop/waypoint',
        allowed: request.method !== 'DELETE',
        reason: 'a DENY policy matched',
        policy: 'shop/no-delete',
        policies: [],
        peer: {
          ...(sourceIdentity && { identity: sourceIdentity }),
          address: request.sourceAddress,
        },
      }),
    },
  );
  t.equal(step(e, 'waypoint-authorization').evaluated, true);
  t.equal(e.outcome.kind, 'routed');
  const denied = explain(
    config,
    { from: 'shop/client', to: 'reviews:9080', method: 'delete' },
    {
      l7: () => ({
        at: 'shop/waypoint',
        allowed: false,
        reason: 'a DENY policy matched',
        policy: 'shop/no-delete',
        policies: [],
        peer: { address: '' },
      }),
    },
  );
  t.same([denied.outcome.kind, denied.outcome.status], ['denied', 403]);
});

t.test('the text form numbers the steps and ends with the outcome', async (t) => {
  const text = renderExplanation(
    explain(served(BY_USER), { from: 'shop/client', to: 'reviews:9080' }),
  );
  t.match(
    text,
    /^GET \/ from shop\/client to reviews:9080 \(Host: reviews:9080\)\n\n1\. capture: /,
  );
  t.match(text, /\n5\. route at the waypoint: route 1 /);
  t.match(text, /✗ route 0 \(VirtualService shop\/reviews http\[0\]\): header end-user absent/);
  t.match(text, /\nOutcome: routed to shop\/reviews-v1 /);
});
