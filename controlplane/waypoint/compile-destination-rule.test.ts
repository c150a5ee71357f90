import t from 'tap';
import type { WaypointService } from '../../api/waypoint/config.js';
import { compile, configOf, service } from './testing/mesh.js';

// DestinationRule → cluster policy. Istio sources: pilot/pkg/networking/util MergeSubsetTrafficPolicy
// and GetPortLevelTrafficPolicy (merge), core/cluster_traffic_policy.go (defaults),
// pilot/pkg/model/push_context.go setDestinationRules/destinationRule and destination_rule.go
// (which rule applies, and how rules for one host merge).

const NO_LIMIT = 4294967295;
const POOL = {
  maxConnections: NO_LIMIT,
  http1MaxPendingRequests: NO_LIMIT,
  http2MaxRequests: NO_LIMIT,
  maxRequestsPerConnection: 0,
  maxRetries: NO_LIMIT,
  connectTimeoutMs: 10000,
};
const REVIEWS = 'reviews.shop.svc.cluster.local';

function dr(spec: string, name = 'reviews', meta = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${name}, namespace: shop${meta} }
spec:
${spec}`;
}

/** A VirtualService sending traffic to each subset, so each gets a cluster. */
function toSubsets(...subsets: string[]): string {
  const routes = subsets
    .map(
      (s) =>
        `  - match: [{ uri: { prefix: /${s} } }]\n    route: [{ destination: { host: reviews, subset: ${s} } }]`,
    )
    .join('\n');
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http:
${routes}
  - route: [{ destination: { host: reviews } }]`;
}

function policies(config: WaypointService): Record<string, unknown> {
  return Object.fromEntries(config.clusters.map((c) => [c.name, c.policy]));
}

t.test('the top-level policy, with Istio’s defaults for what it leaves out', async (t) => {
  const config = configOf(
    compile(
      service('reviews'),
      dr(`  host: reviews
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    connectionPool:
      tcp: { maxConnections: 100, connectTimeout: 250ms, idleTimeout: 30s }
      http: { http1MaxPendingRequests: 5, maxRequestsPerConnection: 1, maxRetries: 0 }
    outlierDetection: {}`),
    ),
    'reviews',
  );
  t.strictSame(policies(config), {
    [`outbound|9080||${REVIEWS}`]: {
      loadBalancer: { kind: 'ROUND_ROBIN' },
      connectionPool: {
        maxConnections: 100,
        http1MaxPendingRequests: 5,
        http2MaxRequests: NO_LIMIT,
        maxRequestsPerConnection: 1,
        maxRetries: NO_LIMIT,
        connectTimeoutMs: 250,
        idleTimeoutMs: 30000,
      },
      // An empty outlierDetection is Envoy's defaults: 5 consecutive 5xx, 10 s, 30 s, 10 %.
      outlierDetection: {
        consecutive5xxErrors: 5,
        intervalMs: 10000,
        baseEjectionTimeMs: 30000,
        maxEjectionPercent: 10,
        minHealthPercent: 0,
      },
    },
  });
});

t.test('outlier detection as written; consecutive5xxErrors 0 turns 5xx ejection off', async (t) => {
  const config = configOf(
    compile(
      service('reviews'),
      dr(`  host: reviews
  trafficPolicy:
    outlierDetection:
      consecutive5xxErrors: 0
      consecutiveGatewayErrors: 3
      interval: 1s
      baseEjectionTime: 2m
      maxEjectionPercent: 50
      minHealthPercent: 25`),
    ),
    'reviews',
  );
  t.strictSame(config.clusters[0]?.policy.outlierDetection, {
    consecutiveGatewayErrors: 3,
    intervalMs: 1000,
    baseEjectionTimeMs: 120000,
    maxEjectionPercent: 50,
    minHealthPercent: 25,
  });
});

t.test(
  'a port-level entry replaces the top-level policy whole: what it omits is defaulted',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews'),
        dr(`  host: reviews
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    connectionPool: { tcp: { maxConnections: 5 } }
    portLevelSettings:
    - port: { number: 9080 }
      outlierDetection: { consecutive5xxErrors: 2 }
    - port: { number: 7000 }
      loadBalancer: { simple: RANDOM }`),
      ),
      'reviews',
    );
    t.strictSame(config.clusters[0]?.policy, {
      loadBalancer: { kind: 'LEAST_REQUEST' },
      connectionPool: POOL,
      outlierDetection: {
        consecutive5xxErrors: 2,
        intervalMs: 10000,
        baseEjectionTimeMs: 30000,
        maxEjectionPercent: 10,
        minHealthPercent: 0,
      },
    });
  },
);

t.test(
  'a subset’s policy replaces the top level one component at a time, never field by field',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews'),
        toSubsets('v1', 'v2'),
        dr(`  host: reviews
  trafficPolicy:
    loadBalancer: { simple: ROUND_ROBIN }
    connectionPool: { tcp: { maxConnections: 5 } }
  subsets:
  - name: v1
    labels: { version: v1 }
    trafficPolicy: { connectionPool: { http: { http2MaxRequests: 7 } } }
  - name: v2
    labels: { version: v2 }
    trafficPolicy:
      loadBalancer: { simple: LEAST_REQUEST }
      portLevelSettings:
      - port: { number: 9080 }
        loadBalancer: { simple: RANDOM }`),
      ),
      'reviews',
    );
    t.strictSame(policies(config), {
      [`outbound|9080||${REVIEWS}`]: {
        loadBalancer: { kind: 'ROUND_ROBIN' },
        connectionPool: { ...POOL, maxConnections: 5 },
      },
      [`outbound|9080|v1|${REVIEWS}`]: {
        loadBalancer: { kind: 'ROUND_ROBIN' },
        connectionPool: { ...POOL, http2MaxRequests: 7 },
      },
      // The subset's own port-level entry replaces every component, the pool included.
      [`outbound|9080|v2|${REVIEWS}`]: { loadBalancer: { kind: 'RANDOM' }, connectionPool: POOL },
    });
  },
);

t.test(
  'rules for one host merge: the oldest policy wins, subsets add up, a repeated subset is dropped',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews'),
        toSubsets('v1', 'v2'),
        dr(
          `  host: reviews
  trafficPolicy: { loadBalancer: { simple: RANDOM } }
  subsets: [{ name: v2, labels: { version: v2 } }, { name: v1, labels: { version: none } }]`,
          'newer',
          ', creationTimestamp: "2024-02-01T00:00:00Z"',
        ),
        dr(
          `  host: ${REVIEWS}
  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }
  subsets: [{ name: v1, labels: { version: v1 } }]`,
          'older',
          ', creationTimestamp: "2024-01-01T00:00:00Z"',
        ),
        `apiVersion: v1
kind: Pod
metadata: { name: reviews-v1, namespace: shop, labels: { app: reviews, version: v1 } }
spec: { serviceAccountName: reviews, containers: [{ name: app }] }
status: { phase: Running, podIP: 10.1.0.5, conditions: [{ type: Ready, status: "True" }] }`,
      ),
      'reviews',
    );
    t.same(
      config.clusters.map((c) => [
        c.name,
        c.policy.loadBalancer.kind,
        c.endpoints.map((e) => e.address),
        c.problem,
      ]),
      [
        [`outbound|9080|v1|${REVIEWS}`, 'ROUND_ROBIN', ['10.1.0.5'], undefined],
        [`outbound|9080|v2|${REVIEWS}`, 'ROUND_ROBIN', [], undefined],
        [`outbound|9080||${REVIEWS}`, 'ROUND_ROBIN', ['10.1.0.5'], undefined],
      ],
    );
  },
);

t.test('consistent hashing: header, cookie, source IP, query parameter', async (t) => {
  const hashOn = (hash: string) =>
    configOf(
      compile(
        service('reviews'),
        dr(`  host: reviews\n  trafficPolicy: { loadBalancer: { consistentHash: ${hash} } }`),
      ),
      'reviews',
    ).clusters[0]?.policy.loadBalancer;
  t.strictSame(hashOn('{ httpHeaderName: X-User }'), {
    kind: 'CONSISTENT_HASH',
    hashOn: { header: 'x-user' },
  });
  t.strictSame(hashOn('{ httpCookie: { name: session, ttl: 60s, path: / } }'), {
    kind: 'CONSISTENT_HASH',
    hashOn: { cookie: { name: 'session', ttlMs: 60000, path: '/' } },
  });
  t.strictSame(hashOn('{ useSourceIp: true }'), {
    kind: 'CONSISTENT_HASH',
    hashOn: { sourceIp: true },
  });
  t.strictSame(hashOn('{ httpQueryParameterName: user }'), {
    kind: 'CONSISTENT_HASH',
    hashOn: { queryParameter: 'user' },
  });
});

t.test(
  'the most specific host wins; a rule with a workload selector is not the waypoint’s',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews'),
        dr(
          `  host: '*.shop.svc.cluster.local'\n  trafficPolicy: { loadBalancer: { simple: RANDOM } }`,
          'wide',
        ),
        dr(
          `  host: '*.svc.cluster.local'\n  trafficPolicy: { loadBalancer: { simple: ROUND_ROBIN } }`,
          'wider',
        ),
        dr(
          `  host: reviews
  workloadSelector: { matchLabels: { app: productpage } }
  trafficPolicy: { connectionPool: { tcp: { maxConnections: 1 } } }`,
          'client-side',
        ),
      ),
      'reviews',
    );
    t.strictSame(config.clusters[0]?.policy, {
      loadBalancer: { kind: 'RANDOM' },
      connectionPool: POOL,
    });
  },
);

// A waypoint in its own namespace, for the order of namespaces a rule is looked up in.
const INFRA = `apiVersion: v1
kind: Namespace
metadata: { name: infra }
---
apiVersion: v1
kind: Namespace
metadata: { name: istio-system }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: shared, namespace: infra }
spec:
  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE, allowedRoutes: { namespaces: { from: All } } }]
---
apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: shop
  labels: { istio.io/use-waypoint: shared, istio.io/use-waypoint-namespace: infra }
spec: { clusterIP: 10.96.0.10, ports: [{ name: http, port: 9080 }] }`;

function lbIn(...rules: [namespace: string, lb: string, exportTo?: string][]): string | undefined {
  const docs = rules.map(([namespace, lb, exportTo]) =>
    dr(
      `  host: ${REVIEWS}\n  trafficPolicy: { loadBalancer: { simple: ${lb} } }${exportTo ? `\n  exportTo: ${exportTo}` : ''}`,
    )
      .replace('namespace: shop', `namespace: ${namespace}`)
      .replace('name: reviews', `name: in-${namespace}`),
  );
  return configOf(compile(INFRA, ...docs), 'reviews').clusters[0]?.policy.loadBalancer.kind;
}

t.test(
  'the waypoint’s namespace first, then the service’s, then the root namespace, if exported',
  async (t) => {
    t.equal(
      lbIn(['infra', 'RANDOM'], ['shop', 'ROUND_ROBIN'], ['istio-system', 'LEAST_REQUEST']),
      'RANDOM',
    );
    t.equal(lbIn(['shop', 'ROUND_ROBIN'], ['istio-system', 'RANDOM']), 'ROUND_ROBIN');
    t.equal(
      lbIn(['shop', 'ROUND_ROBIN', '[.]'], ['istio-system', 'RANDOM']),
      'RANDOM',
      'not exported to infra',
    );
    t.equal(lbIn(['shop', 'ROUND_ROBIN', '[infra]'], ['istio-system', 'RANDOM']), 'ROUND_ROBIN');
    t.equal(lbIn(['istio-system', 'RANDOM']), 'RANDOM');
    t.equal(lbIn(['elsewhere', 'RANDOM']), 'LEAST_REQUEST', 'a third namespace never applies');
  },
);
