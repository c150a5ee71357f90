import t from 'tap';
import { compile, configOf, pod, service } from './testing/mesh.js';

// Clusters and their endpoints: the pods behind a service port, narrowed by a subset's labels;
// destinations that cannot be served become clusters with a problem, never an exception.

const REVIEWS = 'reviews.shop.svc.cluster.local';
const ID = 'spiffe://cluster.local/ns/shop/sa/reviews';

const subsets = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: shop }
spec:
  host: reviews
  subsets:
  - { name: v1, labels: { version: v1 } }
  - { name: v2, labels: { version: v2 } }`;

function routeTo(destinations: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http:
  - route: ${destinations}`;
}

t.test(
  'a subset’s cluster has the endpoints whose labels it names, each pod’s state kept',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews'),
        subsets,
        routeTo(
          `[{ destination: { host: reviews, subset: v1 }, weight: 50 }, { destination: { host: reviews, subset: v2 }, weight: 50 }]`,
        ),
        pod('reviews-v1-a', 'app: reviews, version: v1', '10.1.0.5'),
        pod('reviews-v1-b', 'app: reviews, version: v1', '10.1.0.6', 'False'),
        pod('reviews-v2-a', 'app: reviews, version: v2', '10.1.0.7'),
        // Shutting down: still an endpoint, but not one to send new requests to.
        pod('reviews-v2-b', 'app: reviews, version: v2', '10.1.0.8').replace(
          'namespace: shop,',
          'namespace: shop, deletionTimestamp: "2024-01-01T00:00:00Z",',
        ),
        // Finished: never an endpoint again.
        pod('reviews-v2-c', 'app: reviews, version: v2', '10.1.0.9').replace(
          'phase: Running',
          'phase: Succeeded',
        ),
      ),
      'reviews',
    );
    t.strictSame(
      config.clusters.map((c) => [c.name, c.endpoints]),
      [
        [
          `outbound|9080|v1|${REVIEWS}`,
          [
            { address: '10.1.0.5', port: 8080, identity: ID, healthy: true },
            { address: '10.1.0.6', port: 8080, identity: ID, healthy: false },
          ],
        ],
        [
          `outbound|9080|v2|${REVIEWS}`,
          [
            { address: '10.1.0.7', port: 8080, identity: ID, healthy: true },
            { address: '10.1.0.8', port: 8080, identity: ID, healthy: false },
          ],
        ],
      ],
    );
  },
);

t.test(
  'named target ports resolve per pod; pods outside the mesh are reached without HBONE',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews', '[{ name: http, port: 9080, targetPort: web }]'),
        `apiVersion: v1
kind: Pod
metadata: { name: reviews-out, namespace: shop, labels: { app: reviews, istio.io/dataplane-mode: none } }
spec: { serviceAccountName: legacy, containers: [{ name: app, ports: [{ name: web, containerPort: 3000 }] }] }
status: { phase: Running, podIP: 10.1.0.5, conditions: [{ type: Ready, status: "True" }] }
---
apiVersion: v1
kind: Pod
metadata: { name: reviews-no-port, namespace: shop, labels: { app: reviews } }
spec: { serviceAccountName: reviews, containers: [{ name: app }] }
status: { phase: Running, podIP: 10.1.0.6, conditions: [{ type: Ready, status: "True" }] }`,
      ),
      'reviews',
    );
    t.strictSame(config.clusters[0]?.endpoints, [
      {
        address: '10.1.0.5',
        port: 3000,
        identity: 'spiffe://cluster.local/ns/shop/sa/legacy',
        healthy: true,
        plaintext: true,
      },
    ]);
  },
);

t.test('publishNotReadyAddresses makes unready pods healthy endpoints', async (t) => {
  const config = configOf(
    compile(
      service('reviews').replace(
        'clusterIP: 10.96.0.10',
        'clusterIP: 10.96.0.10\n  publishNotReadyAddresses: true',
      ),
      pod('reviews-1', 'app: reviews', '10.1.0.5', 'False'),
    ),
    'reviews',
  );
  t.same(
    config.clusters[0]?.endpoints.map((e) => e.healthy),
    [true],
  );
});

t.test('a missing subset is a cluster with a problem and an issue, not an error', async (t) => {
  const compiled = compile(
    service('reviews'),
    subsets,
    routeTo('[{ destination: { host: reviews, subset: v3 } }]'),
    pod('reviews-v1', 'app: reviews, version: v1', '10.1.0.5'),
  );
  t.strictSame(configOf(compiled, 'reviews').clusters, [
    {
      name: `outbound|9080|v3|${REVIEWS}`,
      host: REVIEWS,
      port: 9080,
      subset: 'v3',
      policy: {
        loadBalancer: { kind: 'LEAST_REQUEST' },
        connectionPool: {
          maxConnections: 4294967295,
          http1MaxPendingRequests: 4294967295,
          http2MaxRequests: 4294967295,
          maxRequestsPerConnection: 0,
          maxRetries: 4294967295,
          connectTimeoutMs: 10000,
        },
      },
      endpoints: [],
      problem: `no DestinationRule for ${REVIEWS} defines subset v3`,
    },
  ]);
  t.strictSame(compiled.issues, [
    {
      code: 'DestinationSubsetNotFound',
      object: { type: 'VirtualService', namespace: 'shop', name: 'reviews' },
      host: REVIEWS,
      subset: 'v3',
    },
  ]);
});

t.test('a subset with no DestinationRule at all is missing too', async (t) => {
  const compiled = compile(
    service('reviews'),
    routeTo('[{ destination: { host: reviews, subset: v1 } }]'),
  );
  t.same(
    compiled.issues.map((i) => i.code),
    ['DestinationSubsetNotFound'],
  );
});

t.test('an unknown host and an unknown port are problems with issues of their own', async (t) => {
  const compiled = compile(
    service('reviews'),
    routeTo(
      '[{ destination: { host: nowhere }, weight: 50 }, { destination: { host: reviews, port: { number: 1234 } }, weight: 50 }]',
    ),
  );
  t.strictSame(
    configOf(compiled, 'reviews').clusters.map((c) => [c.name, c.problem, c.endpoints]),
    [
      ['outbound|1234||reviews.shop.svc.cluster.local', `service ${REVIEWS} has no port 1234`, []],
      [
        'outbound|9080||nowhere.shop.svc.cluster.local',
        'no service has host nowhere.shop.svc.cluster.local',
        [],
      ],
    ],
  );
  const vs = { type: 'VirtualService', namespace: 'shop', name: 'reviews' };
  t.strictSame(compiled.issues, [
    { code: 'DestinationHostNotFound', object: vs, host: 'nowhere.shop.svc.cluster.local' },
    { code: 'DestinationPortNotFound', object: vs, host: REVIEWS, port: 1234 },
  ]);
});

t.test('a cluster several routes name is made once', async (t) => {
  const config = configOf(
    compile(
      service('reviews'),
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /a } }]
    route: [{ destination: { host: reviews } }]
    mirror: { host: reviews }
  - route: [{ destination: { host: reviews, port: { number: 9080 } } }]`,
    ),
    'reviews',
  );
  t.same(
    config.clusters.map((c) => c.name),
    [`outbound|9080||${REVIEWS}`],
  );
});
