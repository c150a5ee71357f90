import t from 'tap';
import { compile, configOf, pod, service } from './testing/mesh.js';

// VirtualService → WaypointService, compared as whole JSON. Istio sources: pilot/pkg/networking/
// core/route/route.go (translateRoute and helpers), core/route/retry/retry.go,
// core/listener_waypoint.go (which VirtualServices a waypoint applies).

const RETRY = {
  attempts: 2,
  retryOn: [
    'connect-failure',
    'refused-stream',
    'unavailable',
    'cancelled',
    'retriable-status-codes',
  ],
  retriableStatusCodes: [503],
  backoffBaseMs: 25,
};
const POOL = {
  maxConnections: 4294967295,
  http1MaxPendingRequests: 4294967295,
  http2MaxRequests: 4294967295,
  maxRequestsPerConnection: 0,
  maxRetries: 4294967295,
  connectTimeoutMs: 10000,
};
const POLICY = { loadBalancer: { kind: 'LEAST_REQUEST' }, connectionPool: POOL };
const REVIEWS = 'reviews.shop.svc.cluster.local';
const cluster = (port: number, subset = '', host = REVIEWS) => `outbound|${port}|${subset}|${host}`;

function vs(spec: string, name = 'reviews', extra = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: shop${extra} }
spec:
${spec}`;
}

const reviewsPods = [
  pod('reviews-v1', 'app: reviews, version: v1', '10.1.0.5'),
  pod('reviews-v2', 'app: reviews, version: v2', '10.1.0.6'),
];

t.test('a service without routing config gets one default route to its own port', async (t) => {
  const config = configOf(compile(service('reviews'), ...reviewsPods), 'reviews');
  t.strictSame(config, {
    namespace: 'shop',
    name: 'reviews',
    hostname: REVIEWS,
    vips: ['10.96.0.10'],
    ports: [{ port: 9080, protocol: 'http' }],
    http: [
      {
        origin: 'default',
        matches: [],
        action: { kind: 'route', destinations: [{ cluster: cluster(9080), weight: 100 }] },
        retries: RETRY,
      },
    ],
    tcp: [],
    clusters: [
      {
        name: cluster(9080),
        host: REVIEWS,
        port: 9080,
        policy: POLICY,
        endpoints: [
          {
            address: '10.1.0.5',
            port: 8080,
            identity: 'spiffe://cluster.local/ns/shop/sa/reviews',
            healthy: true,
          },
          {
            address: '10.1.0.6',
            port: 8080,
            identity: 'spiffe://cluster.local/ns/shop/sa/reviews',
            healthy: true,
          },
        ],
      },
    ],
    waypoint: 'shop/waypoint',
    // What request metrics label each destination endpoint with.
    telemetry: {
      workloads: {
        '10.1.0.5': {
          workload: 'reviews-v1',
          namespace: 'shop',
          canonicalService: 'reviews',
          canonicalRevision: 'v1',
          cluster: 'Kubernetes',
        },
        '10.1.0.6': {
          workload: 'reviews-v2',
          namespace: 'shop',
          canonicalService: 'reviews',
          canonicalRevision: 'v2',
          cluster: 'Kubernetes',
        },
      },
    },
  });
});

t.test('services without a waypoint get no config', async (t) => {
  const compiled = compile(`apiVersion: v1
kind: Service
metadata: { name: solo, namespace: shop, labels: { istio.io/use-waypoint: none } }
spec: { clusterIP: 10.96.0.11, ports: [{ port: 80 }] }`);
  t.same([...compiled.services.keys()], []);
});

t.test(
  'a VirtualService applies by short name, FQDN or wildcard, from the service namespace only',
  async (t) => {
    const route = (dest: string) => `  http: [{ route: [{ destination: { host: ${dest} } }] }]`;
    const origin = (c: ReturnType<typeof compile>) =>
      configOf(c, 'reviews').http.map((r) => r.origin);
    t.same(origin(compile(service('reviews'), vs(`  hosts: [reviews]\n${route('reviews')}`))), [
      'VirtualService shop/reviews http[0]',
    ]);
    t.same(origin(compile(service('reviews'), vs(`  hosts: [${REVIEWS}]\n${route('reviews')}`))), [
      'VirtualService shop/reviews http[0]',
    ]);
    t.same(
      origin(
        compile(
          service('reviews'),
          vs(`  hosts: ['*.shop.svc.cluster.local']\n${route('reviews')}`),
        ),
      ),
      ['VirtualService shop/reviews http[0]'],
    );
    const elsewhere = `apiVersion: v1
kind: Namespace
metadata: { name: other }
---
${vs(`  hosts: [${REVIEWS}]\n${route(REVIEWS)}`).replace('namespace: shop', 'namespace: other')}`;
    t.same(
      origin(compile(service('reviews'), elsewhere)),
      ['default'],
      'a consumer namespace VS is not the waypoint’s',
    );
    const gatewayOnly = vs(`  hosts: [reviews]\n  gateways: [ingress]\n${route('reviews')}`);
    t.same(
      origin(compile(service('reviews'), gatewayOnly)),
      ['default'],
      'bound to a gateway, not the mesh',
    );
    const hidden = vs(`  hosts: [reviews]\n  exportTo: [elsewhere]\n${route('reviews')}`);
    t.same(
      origin(compile(service('reviews'), hidden)),
      ['default'],
      'not exported to the waypoint namespace',
    );
  },
);

t.test('every match field is compiled; impossible matches are dropped', async (t) => {
  const config = configOf(
    compile(
      service('reviews'),
      vs(`  hosts: [reviews]
  http:
  - name: all-fields
    match:
    - uri: { prefix: /api }
      ignoreUriCase: true
      method: { exact: GET }
      authority: { regex: 'reviews(:9080)?' }
      headers: { X-User: { exact: jason }, x-present: {} }
      withoutHeaders: { x-debug: { regex: '*' }, x-env: { prefix: test } }
      queryParams: { q: { exact: '1' }, flag: {} }
      scheme: { exact: http }
    - uri: { exact: /other-port }
      port: 9999
    - uri: { exact: /gateway }
      gateways: [ingress]
    - uri: { exact: /tls }
      scheme: { exact: https }
    route: [{ destination: { host: reviews } }]`),
    ),
    'reviews',
  );
  t.strictSame(config.http[0]?.matches, [
    {
      uri: { prefix: '/api' },
      ignoreUriCase: true,
      method: { exact: 'GET' },
      authority: { regex: 'reviews(:9080)?' },
      headers: [{ name: 'x-present' }, { name: 'x-user', match: { exact: 'jason' } }],
      withoutHeaders: [{ name: 'x-debug' }, { name: 'x-env', match: { prefix: 'test' } }],
      queryParams: [{ name: 'flag' }, { name: 'q', match: { exact: '1' } }],
    },
  ]);
  t.equal(config.http[0]?.name, 'all-fields');
});

t.test('a route whose every match is impossible here is left out', async (t) => {
  const config = configOf(
    compile(
      service('reviews'),
      vs(`  hosts: [reviews]
  http:
  - match: [{ port: 8000 }]
    route: [{ destination: { host: reviews, subset: never } }]
  - route: [{ destination: { host: reviews } }]`),
    ),
    'reviews',
  );
  t.same(
    config.http.map((r) => r.origin),
    ['VirtualService shop/reviews http[1]'],
  );
  t.same(
    config.clusters.map((c) => c.name),
    [cluster(9080)],
    'no cluster for the dropped route',
  );
});

t.test(
  'sourceLabels and sourceNamespace become the addresses of the workloads they select',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews'),
        `apiVersion: v1
kind: Namespace
metadata: { name: web }`,
        pod('productpage-1', 'app: productpage', '10.1.0.20'),
        pod('productpage-2', 'app: productpage', '10.1.0.21'),
        pod('ratings-1', 'app: ratings', '10.1.0.30'),
        pod('productpage-web', 'app: productpage', '10.1.0.40').replace(
          'namespace: shop',
          'namespace: web',
        ),
        vs(`  hosts: [reviews]
  http:
  - match:
    - sourceLabels: { app: productpage }
    - sourceLabels: { app: productpage }
      sourceNamespace: web
    - sourceNamespace: web
    - sourceLabels: { app: nobody }
    route: [{ destination: { host: reviews } }]`),
      ),
      'reviews',
    );
    t.strictSame(config.http[0]?.matches, [
      { sourceAddresses: ['10.1.0.20', '10.1.0.21', '10.1.0.40'] },
      { sourceAddresses: ['10.1.0.40'] },
      { sourceAddresses: ['10.1.0.40'] },
      { sourceAddresses: [] },
    ]);
  },
);

t.test(
  'destinations resolve to clusters: short names in the VirtualService namespace, the port',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews', '[{ name: http, port: 9080 }, { name: http-admin, port: 9090 }]'),
        service('ratings', '[{ name: http, port: 8000 }]', '10.96.0.20'),
        vs(`  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /ratings } }]
    route: [{ destination: { host: ratings } }]
  - match: [{ uri: { prefix: /admin } }]
    route: [{ destination: { host: ${REVIEWS}, port: { number: 9090 } } }]
  - route: [{ destination: { host: reviews } }]`),
      ),
      'reviews',
    );
    const clusters = (port: number) =>
      config.http
        .filter((r) => r.matches.some((m) => m.port === port))
        .map((r) => (r.action.kind === 'route' ? r.action.destinations.map((d) => d.cluster) : []));
    t.same(
      clusters(9080),
      [['outbound|8000||ratings.shop.svc.cluster.local'], [cluster(9090)], [cluster(9080)]],
      'a service with one port is reached on it; without a port, the request’s own port',
    );
    t.same(clusters(9090), [
      ['outbound|8000||ratings.shop.svc.cluster.local'],
      [cluster(9090)],
      [cluster(9090)],
    ]);
  },
);

t.test(
  'weights: one destination takes 100, zero weights drop out, the rest need not sum to 100',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews'),
        vs(`  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /one } }]
    route: [{ destination: { host: reviews }, weight: 5 }]
  - route:
    - { destination: { host: reviews }, weight: 30 }
    - { destination: { host: reviews }, weight: 0, headers: { request: { set: { x: y } } } }
    - { destination: { host: ratings.shop.svc.cluster.local }, weight: 40 }`),
      ),
      'reviews',
    );
    t.strictSame(
      config.http.map((r) => r.action),
      [
        { kind: 'route', destinations: [{ cluster: cluster(9080), weight: 100 }] },
        {
          kind: 'route',
          destinations: [
            { cluster: cluster(9080), weight: 30 },
            { cluster: 'outbound|9080||ratings.shop.svc.cluster.local', weight: 40 },
          ],
        },
      ],
    );
  },
);

t.test('redirect (301 unless set) and direct response', async (t) => {
  const config = configOf(
    compile(
      service('reviews'),
      vs(`  hosts: [reviews]
  http:
  - match: [{ uri: { exact: /old } }]
    redirect: { uri: /new, authority: new.example.com }
  - match: [{ uri: { exact: /moved } }]
    redirect: { scheme: https, derivePort: FROM_PROTOCOL_DEFAULT, redirectCode: 308 }
  - match: [{ uri: { exact: /here } }]
    redirect: { uri: /there, derivePort: FROM_REQUEST_PORT }
  - match: [{ uri: { exact: /teapot } }]
    directResponse: { status: 418, body: { string: "short and stout" } }
  - directResponse: { status: 503, body: { bytes: aGVsbG8= } }`),
    ),
    'reviews',
  );
  t.strictSame(
    config.http.map((r) => r.action),
    [
      { kind: 'redirect', redirect: { uri: '/new', authority: 'new.example.com', status: 301 } },
      { kind: 'redirect', redirect: { scheme: 'https', derivePort: 'protocol', status: 308 } },
      { kind: 'redirect', redirect: { uri: '/there', derivePort: 'request', status: 301 } },
      { kind: 'direct', status: 418, body: 'short and stout' },
      { kind: 'direct', status: 503, body: 'hello' },
    ],
  );
  t.same(config.clusters, [], 'nothing forwards, so no cluster');
});

t.test(
  'rewrite, route and destination headers; setting host or :authority rewrites the authority',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews'),
        vs(`  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /v1 } }]
    rewrite: { uri: /v2 }
    headers:
      request: { set: { X-Env: prod, host: from-headers }, add: { x-trace: on }, remove: [X-Secret] }
      response: { set: { cache-control: no-store }, remove: [server] }
    route:
    - destination: { host: reviews }
      headers: { request: { set: { ':authority': per-destination } }, response: { add: { x-served-by: reviews } } }
  - match: [{ uri: { regex: '/r/.*' } }]
    rewrite: { uriRegexRewrite: { match: '^/r/(.*)$', rewrite: '/\\1' }, authority: explicit }
    route: [{ destination: { host: reviews } }]`),
      ),
      'reviews',
    );
    const [first, second] = config.http;
    t.strictSame(first?.rewrite, { prefix: '/v2', authority: 'from-headers' });
    t.strictSame(first?.headers, {
      request: { set: { 'x-env': 'prod' }, add: { 'x-trace': 'on' }, remove: ['x-secret'] },
      response: { set: { 'cache-control': 'no-store' }, remove: ['server'] },
    });
    t.strictSame(first?.action, {
      kind: 'route',
      destinations: [
        {
          cluster: cluster(9080),
          weight: 100,
          headers: { response: { add: { 'x-served-by': 'reviews' } } },
          authority: 'per-destination',
        },
      ],
    });
    t.strictSame(second?.rewrite, {
      uriRegex: { match: '^/r/(.*)$', rewrite: '/\\1' },
      authority: 'explicit',
    });
  },
);

t.test(
  'timeouts and retries: none unless set; Istio’s default retry; attempts 0 disables',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews'),
        vs(`  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /a } }]
    timeout: 1.5s
    retries: { attempts: 0 }
    route: [{ destination: { host: reviews } }]
  - match: [{ uri: { prefix: /b } }]
    retries: { attempts: 5, perTryTimeout: 200ms, retryOn: 'gateway-error,503,connect-failure', backoff: 50ms }
    route: [{ destination: { host: reviews } }]
  - match: [{ uri: { prefix: /c } }]
    retries: { attempts: 3, retryOn: 'reset' }
    route: [{ destination: { host: reviews } }]
  - match: [{ uri: { prefix: /d } }]
    retries: { attempts: 4 }
    route: [{ destination: { host: reviews } }]
  - route: [{ destination: { host: reviews } }]`),
      ),
      'reviews',
    );
    t.strictSame(
      config.http.map((r) => [r.timeoutMs, r.retries]),
      [
        [1500, { attempts: 0, retryOn: [], retriableStatusCodes: [], backoffBaseMs: 25 }],
        [
          undefined,
          {
            attempts: 5,
            perTryTimeoutMs: 200,
            retryOn: ['gateway-error', 'connect-failure', 'retriable-status-codes'],
            retriableStatusCodes: [503],
            backoffBaseMs: 50,
          },
        ],
        [
          undefined,
          { attempts: 3, retryOn: ['reset'], retriableStatusCodes: [], backoffBaseMs: 25 },
        ],
        [undefined, { ...RETRY, attempts: 4 }],
        [undefined, RETRY],
      ],
    );
    t.notOk('timeoutMs' in (config.http[4] ?? {}), 'no timeout key at all without a timeout');
  },
);

t.test(
  'fault injection: an absent percentage is 0 % (Envoy reads an unset FractionalPercent as 0)',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews'),
        vs(`  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /a } }]
    fault:
      delay: { fixedDelay: 7s }
      abort: { httpStatus: 500 }
    route: [{ destination: { host: reviews } }]
  - match: [{ uri: { prefix: /b } }]
    fault:
      delay: { fixedDelay: 100ms, percentage: { value: 12.5 } }
      abort: { grpcStatus: UNAVAILABLE, percentage: { value: 100 } }
    route: [{ destination: { host: reviews } }]
  - fault: { delay: { fixedDelay: 1s, percent: 30 } }
    route: [{ destination: { host: reviews } }]`),
      ),
      'reviews',
    );
    t.strictSame(
      config.http.map((r) => r.fault),
      [
        { delay: { fixedDelayMs: 7000, percentage: 0 }, abort: { httpStatus: 500, percentage: 0 } },
        {
          delay: { fixedDelayMs: 100, percentage: 12.5 },
          abort: { httpStatus: 200, grpcStatus: 14, percentage: 100 },
        },
        { delay: { fixedDelayMs: 1000, percentage: 30 } },
      ],
    );
  },
);

t.test('mirrors: 100 % unless set; 0 % mirrors nothing', async (t) => {
  const config = configOf(
    compile(
      service('reviews'),
      vs(`  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /a } }]
    mirror: { host: reviews, subset: shadow }
    route: [{ destination: { host: reviews } }]
  - match: [{ uri: { prefix: /b } }]
    mirror: { host: reviews }
    mirrorPercentage: { value: 0 }
    route: [{ destination: { host: reviews } }]
  - mirrors:
    - { destination: { host: reviews, port: { number: 9080 } }, percentage: { value: 10 } }
    - { destination: { host: ratings.shop.svc.cluster.local } }
    route: [{ destination: { host: reviews } }]`),
    ),
    'reviews',
  );
  t.strictSame(
    config.http.map((r) => r.mirrors),
    [
      [{ cluster: cluster(9080, 'shadow'), percentage: 100 }],
      undefined,
      [
        { cluster: cluster(9080), percentage: 10 },
        { cluster: 'outbound|9080||ratings.shop.svc.cluster.local', percentage: 100 },
      ],
    ],
  );
});

t.test('a CORS policy, with the deprecated allowOrigin as exact matches', async (t) => {
  const config = configOf(
    compile(
      service('reviews'),
      vs(`  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /a } }]
    corsPolicy:
      allowOrigins: [{ exact: 'https://a.example' }, { regex: 'https://.*\\.b\\.example' }]
      allowMethods: [GET, POST]
      allowHeaders: [x-custom]
      exposeHeaders: [x-result]
      maxAge: 24h
      allowCredentials: false
    route: [{ destination: { host: reviews } }]
  - corsPolicy: { allowOrigin: ['https://old.example'] }
    route: [{ destination: { host: reviews } }]`),
    ),
    'reviews',
  );
  t.strictSame(
    config.http.map((r) => r.cors),
    [
      {
        allowOrigins: [{ exact: 'https://a.example' }, { regex: 'https://.*\\.b\\.example' }],
        allowMethods: ['GET', 'POST'],
        allowHeaders: ['x-custom'],
        exposeHeaders: ['x-result'],
        maxAgeSeconds: 86400,
        allowCredentials: false,
      },
      {
        allowOrigins: [{ exact: 'https://old.example' }],
        allowMethods: [],
        allowHeaders: [],
        exposeHeaders: [],
      },
    ],
  );
});

t.test('routes stop at the first catch-all; VirtualServices apply oldest first', async (t) => {
  const config = configOf(
    compile(
      service('reviews'),
      vs(
        `  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /new } }]
    route: [{ destination: { host: reviews } }]`,
        'newer',
        ', creationTimestamp: "2024-05-02T00:00:00Z"',
      ),
      vs(
        `  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /old } }]
    route: [{ destination: { host: reviews } }]
  - match: [{ uri: { regex: '.*' } }, { uri: { exact: /after-catch-all } }]
    route: [{ destination: { host: reviews } }]
  - route: [{ destination: { host: reviews } }]`,
        'older',
        ', creationTimestamp: "2024-05-01T00:00:00Z"',
      ),
    ),
    'reviews',
  );
  t.strictSame(
    config.http.map((r) => [r.origin, r.matches]),
    [
      ['VirtualService shop/older http[0]', [{ uri: { prefix: '/old' } }]],
      ['VirtualService shop/older http[1]', [{ uri: { regex: '.*' } }]],
      ['VirtualService shop/newer http[0]', [{ uri: { prefix: '/new' } }]],
    ],
  );
});

t.test(
  'with several HTTP ports every match names its port; a port without routes gets the default',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews', '[{ name: http, port: 9080 }, { name: http-admin, port: 9090 }]'),
        vs(`  hosts: [reviews]
  http:
  - match: [{ port: 9080, uri: { prefix: /a } }]
    route: [{ destination: { host: reviews } }]`),
      ),
      'reviews',
    );
    t.strictSame(
      config.http.map((r) => [r.origin, r.matches]),
      [
        ['VirtualService shop/reviews http[0]', [{ uri: { prefix: '/a' }, port: 9080 }]],
        ['default', [{ port: 9090 }]],
      ],
    );
  },
);

t.test(
  'port protocols follow appProtocol, then the port name; unknown ones are sniffed; UDP is left out',
  async (t) => {
    const config = configOf(
      compile(
        service(
          'reviews',
          `
  - { name: http-web, port: 80 }
  - { name: grpc, port: 81 }
  - { name: web, port: 82, appProtocol: kubernetes.io/h2c }
  - { name: tcp-db, port: 83 }
  - { name: https, port: 84 }
  - { name: unnamed, port: 85 }
  - { name: db, port: 3306 }
  - { name: dns, port: 53, protocol: UDP }`,
        ),
      ),
      'reviews',
    );
    t.strictSame(config.ports, [
      { port: 80, protocol: 'http' },
      { port: 81, protocol: 'http2' },
      { port: 82, protocol: 'http2' },
      { port: 83, protocol: 'tcp' },
      { port: 84, protocol: 'tcp' },
      { port: 85, protocol: 'auto' },
      { port: 3306, protocol: 'tcp' },
    ]);
    t.same(
      config.http.flatMap((r) => r.matches.map((m) => m.port)),
      [80, 81, 82, 85],
      'HTTP routes for HTTP and sniffed ports',
    );
    t.same(
      config.tcp.map((r) => r.ports),
      [[83], [84], [85], [3306]],
      'TCP routes for TCP and sniffed ports',
    );
  },
);

t.test(
  'TCP routes: TLS routes for the service’s own SNI first, then TCP routes, then the default',
  async (t) => {
    const config = configOf(
      compile(
        service('reviews', '[{ name: tcp, port: 9000 }]'),
        vs(`  hosts: [${REVIEWS}, other.example]
  tcp:
  - match: [{ port: 9999 }]
    route: [{ destination: { host: reviews, subset: never } }]
  - route:
    - { destination: { host: reviews, subset: v1 }, weight: 90 }
    - { destination: { host: reviews, subset: v2 }, weight: 10 }
  tls:
  - match: [{ sniHosts: [${REVIEWS}] }]
    route: [{ destination: { host: reviews, subset: tls } }]
  - match: [{ sniHosts: [other.example] }]
    route: [{ destination: { host: reviews, subset: never } }]`),
      ),
      'reviews',
    );
    t.strictSame(config.tcp, [
      {
        origin: 'VirtualService shop/reviews tls[0]',
        ports: [9000],
        destinations: [{ cluster: cluster(9000, 'tls'), weight: 100 }],
      },
      {
        origin: 'VirtualService shop/reviews tcp[1]',
        ports: [9000],
        destinations: [
          { cluster: cluster(9000, 'v1'), weight: 90 },
          { cluster: cluster(9000, 'v2'), weight: 10 },
        ],
      },
      { origin: 'default', ports: [9000], destinations: [{ cluster: cluster(9000), weight: 100 }] },
    ]);
    t.same(config.http, [], 'a TCP port has no HTTP routes');
  },
);

t.test('a delegating route is left out and reported', async (t) => {
  const compiled = compile(
    service('reviews'),
    vs(`  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /team } }]
    delegate: { name: team-routes, namespace: shop }
  - route: [{ destination: { host: reviews } }]`),
  );
  t.same(
    configOf(compiled, 'reviews').http.map((r) => r.origin),
    ['VirtualService shop/reviews http[1]'],
  );
  t.strictSame(compiled.issues, [
    {
      code: 'RouteFeatureUnsupported',
      object: { type: 'VirtualService', namespace: 'shop', name: 'reviews' },
      field: 'spec.http[0].delegate',
      reason: 'delegating to another VirtualService is not supported for waypoints',
    },
  ]);
});
