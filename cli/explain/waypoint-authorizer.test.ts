import t from 'tap';
import { explain } from './explain.js';
import { reviewsRoutes, served } from './testing/mesh.js';
import { waypointAuthorizer } from './waypoint-authorizer.js';

// The waypoint's own evaluator behind `ambit x explain`: a targetRef policy on reviews that
// lets only productpage's service account GET it.

const ONLY_PRODUCTPAGE = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: reviews-viewer, namespace: shop }
spec:
  targetRefs: [{ kind: Service, group: '', name: reviews }]
  action: ALLOW
  rules:
    - from: [{ source: { principals: [cluster.local/ns/shop/sa/productpage] } }]
      to: [{ operation: { methods: [GET] } }]`;

const ROUTES = reviewsRoutes(`
  - route: [{ destination: { host: reviews, subset: v1 } }]`);

t.test('an ALLOW policy at the waypoint denies a peer it does not name, with 403', async (t) => {
  const e = explain(
    served(ROUTES, ONLY_PRODUCTPAGE),
    { from: 'shop/client', to: 'reviews:9080' },
    { l7: waypointAuthorizer },
  );
  t.same([e.outcome.kind, e.outcome.status], ['denied', 403]);
  const step = e.steps.find((s) => s.kind === 'waypoint-authorization');
  t.match(step, {
    evaluated: true,
    decision: {
      allowed: false,
      reason: 'ALLOW policies apply and none matches',
      policies: [{ policy: 'shop/reviews-viewer', action: 'ALLOW', matched: false }],
      peer: { identity: 'spiffe://cluster.local/ns/shop/sa/client' },
    },
  });
});

t.test('without a policy bound, the waypoint allows and routes', async (t) => {
  const e = explain(
    served(ROUTES),
    { from: 'shop/client', to: 'reviews:9080' },
    { l7: waypointAuthorizer },
  );
  t.equal(e.outcome.kind, 'routed');
  t.match(
    e.steps.find((s) => s.kind === 'waypoint-authorization'),
    {
      evaluated: true,
      decision: { allowed: true, reason: 'no AuthorizationPolicy is bound to the service' },
    },
  );
});
