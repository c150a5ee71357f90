import t from 'tap';
import type { HttpRoute } from '../../api/waypoint/config.js';
import { compile, configOf, service } from './testing/mesh.js';

// HTTPRoute (GAMMA, parentRef a Service) → WaypointService. Istio source:
// pilot/pkg/config/kube/gateway/conversion.go (convertHTTPRoute, sortHTTPRoutes, filters) and
// route.go (path_separated_prefix for PathPrefix, prefix_rewrite).

const REVIEWS = 'reviews.shop.svc.cluster.local';
const cluster = (port = 9080, host = REVIEWS) => `outbound|${port}||${host}`;
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

function route(
  name: string,
  rules: string,
  options: { created?: string; parent?: string; namespace?: string } = {},
) {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
  namespace: ${options.namespace ?? 'shop'}
  creationTimestamp: "${options.created ?? '2024-01-01T00:00:00Z'}"
spec:
  parentRefs: [${options.parent ?? '{ group: "", kind: Service, name: reviews, namespace: shop }'}]
  rules:
${rules}`;
}

const backend = 'backendRefs: [{ name: reviews, port: 9080 }]';

function http(...documents: string[]): readonly HttpRoute[] {
  return configOf(compile(service('reviews'), ...documents), 'reviews').http;
}

t.test('Gateway API precedence orders matches across rules and routes', async (t) => {
  const routes = http(
    route(
      'a',
      `  - matches: [{ path: { type: PathPrefix, value: /api } }]
    ${backend}
  - matches: [{ path: { type: PathPrefix, value: /api }, method: GET }]
    ${backend}
  - matches: [{ path: { type: Exact, value: /api/health } }]
    ${backend}
  - matches: [{ path: { type: RegularExpression, value: '/api/v[0-9]+/.*' } }]
    ${backend}
  - matches:
    - path: { type: PathPrefix, value: /api/v1/ }
      headers: [{ name: x-a, value: '1' }, { name: x-b, value: '2' }]
    - path: { type: PathPrefix, value: /api/v1 }
      headers: [{ name: x-a, value: '1' }]
      queryParams: [{ name: q, value: '1' }, { name: r, value: '2' }, { name: s, value: '3' }]
    ${backend}`,
      { created: '2024-02-01T00:00:00Z' },
    ),
    route(
      'b',
      `  - matches: [{ path: { type: PathPrefix, value: /api }, method: GET }]
    ${backend}
  - ${backend}`,
      { created: '2024-01-01T00:00:00Z' },
    ),
  );
  t.strictSame(
    routes.map((r) => [r.origin, r.matches[0]?.uri]),
    [
      ['HTTPRoute shop/a rules[2]', { exact: '/api/health' }],
      // A PathPrefix matches whole segments: the path itself, and what lies below it.
      ['HTTPRoute shop/a rules[4].matches[0]', { exact: '/api/v1' }],
      ['HTTPRoute shop/a rules[4].matches[0]', { prefix: '/api/v1/' }],
      ['HTTPRoute shop/a rules[4].matches[1]', { exact: '/api/v1' }],
      ['HTTPRoute shop/a rules[4].matches[1]', { prefix: '/api/v1/' }],
      // A method match first; among equals, the older route.
      ['HTTPRoute shop/b rules[0]', { exact: '/api' }],
      ['HTTPRoute shop/b rules[0]', { prefix: '/api/' }],
      ['HTTPRoute shop/a rules[1]', { exact: '/api' }],
      ['HTTPRoute shop/a rules[1]', { prefix: '/api/' }],
      ['HTTPRoute shop/a rules[0]', { exact: '/api' }],
      ['HTTPRoute shop/a rules[0]', { prefix: '/api/' }],
      ['HTTPRoute shop/b rules[1]', { prefix: '/' }],
      ['HTTPRoute shop/a rules[3]', { regex: '/api/v[0-9]+/.*' }],
    ],
  );
  t.strictSame(routes[1], {
    origin: 'HTTPRoute shop/a rules[4].matches[0]',
    name: 'shop.a.4',
    matches: [
      {
        uri: { exact: '/api/v1' },
        headers: [
          { name: 'x-a', match: { exact: '1' } },
          { name: 'x-b', match: { exact: '2' } },
        ],
      },
    ],
    action: { kind: 'route', destinations: [{ cluster: cluster(), weight: 100 }] },
    retries: RETRY,
  });
});

t.test(
  'URLRewrite: a prefix replacement gives Envoy’s path-separated result; a full path; a hostname',
  async (t) => {
    const routes = http(
      route(
        'rewrite',
        `  - name: prefix
    matches: [{ path: { type: PathPrefix, value: /old/ } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /new } } }]
    ${backend}
  - name: strip
    matches: [{ path: { type: PathPrefix, value: /strip } }]
    filters: [{ type: URLRewrite, urlRewrite: { path: { type: ReplacePrefixMatch, replacePrefixMatch: / } } }]
    ${backend}
  - name: full
    matches: [{ path: { type: Exact, value: /exact } }]
    filters: [{ type: URLRewrite, urlRewrite: { hostname: elsewhere.example, path: { type: ReplaceFullPath, replaceFullPath: /replaced } } }]
    ${backend}`,
      ),
    );
    t.strictSame(
      routes.map((r) => [r.name, r.matches[0]?.uri, r.rewrite]),
      [
        ['full', { exact: '/exact' }, { uri: '/replaced', authority: 'elsewhere.example' }],
        ['strip', { exact: '/strip' }, { prefix: '/' }],
        ['strip', { prefix: '/strip/' }, { prefix: '/' }],
        ['prefix', { exact: '/old' }, { prefix: '/new' }],
        ['prefix', { prefix: '/old/' }, { prefix: '/new/' }],
      ],
    );
  },
);

t.test(
  'RequestRedirect: 302 by default, the request’s port unless the scheme changes',
  async (t) => {
    const routes = http(
      route(
        'redirect',
        `  - matches: [{ path: { type: PathPrefix, value: /docs } }]
    filters: [{ type: RequestRedirect, requestRedirect: { path: { type: ReplacePrefixMatch, replacePrefixMatch: /manual } } }]
  - matches: [{ path: { type: Exact, value: /secure } }]
    filters: [{ type: RequestRedirect, requestRedirect: { scheme: https, statusCode: 301 } }]
  - matches: [{ path: { type: Exact, value: /moved } }]
    filters: [{ type: RequestRedirect, requestRedirect: { hostname: new.example, port: 8443, path: { type: ReplaceFullPath, replaceFullPath: /x } } }]`,
      ),
    );
    t.strictSame(
      routes.map((r) => r.action),
      [
        { kind: 'redirect', redirect: { scheme: 'https', derivePort: 'protocol', status: 301 } },
        {
          kind: 'redirect',
          redirect: { uri: '/x', authority: 'new.example', port: 8443, status: 302 },
        },
        {
          kind: 'redirect',
          redirect: { prefixRewrite: '/manual', derivePort: 'request', status: 302 },
        },
        {
          kind: 'redirect',
          redirect: { prefixRewrite: '/manual/', derivePort: 'request', status: 302 },
        },
      ],
    );
  },
);

t.test(
  'header modifiers on the rule and on a backend; names lower case, the first of a name wins',
  async (t) => {
    const [first] = http(
      route(
        'headers',
        `  - filters:
    - type: RequestHeaderModifier
      requestHeaderModifier:
        set: [{ name: X-Env, value: prod }, { name: Host, value: rewritten.example }]
        add: [{ name: x-trace, value: a }, { name: X-Trace, value: b }]
        remove: [x-secret]
    - type: ResponseHeaderModifier
      responseHeaderModifier: { set: [{ name: cache-control, value: no-store }] }
    backendRefs:
    - name: reviews
      port: 9080
      filters: [{ type: ResponseHeaderModifier, responseHeaderModifier: { add: [{ name: x-backend, value: reviews }] } }]`,
      ),
    );
    t.strictSame(first?.headers, {
      request: { set: { 'x-env': 'prod' }, add: { 'x-trace': 'a' }, remove: ['x-secret'] },
      response: { set: { 'cache-control': 'no-store' } },
    });
    t.strictSame(first?.rewrite, { authority: 'rewritten.example' });
    t.strictSame(first?.action, {
      kind: 'route',
      destinations: [
        {
          cluster: cluster(),
          weight: 100,
          headers: { response: { add: { 'x-backend': 'reviews' } } },
        },
      ],
    });
  },
);

t.test(
  'backend weights: zero drops out, nothing weighted answers 500; other namespaces and hostnames',
  async (t) => {
    const routes = http(
      `apiVersion: v1
kind: Namespace
metadata: { name: other }`,
      service('ratings', '[{ name: http, port: 8000 }]', '10.96.0.20').replace(
        'namespace: shop',
        'namespace: other',
      ),
      route(
        'weights',
        `  - matches: [{ path: { type: Exact, value: /split } }]
    backendRefs:
    - { name: reviews, port: 9080, weight: 3 }
    - { name: ratings, namespace: other, port: 8000, weight: 1 }
    - { name: ratings, namespace: other, port: 8000, weight: 0 }
  - matches: [{ path: { type: Exact, value: /external } }]
    backendRefs: [{ group: networking.istio.io, kind: Hostname, name: api.example.com, port: 443, weight: 7 }]
  - matches: [{ path: { type: Exact, value: /nothing } }]
    backendRefs: [{ name: reviews, port: 9080, weight: 0 }]
  - matches: [{ path: { type: Exact, value: /none } }]`,
      ),
    );
    t.strictSame(
      routes.map((r) => r.action),
      [
        // Longer exact paths first: /external, /nothing, /split, /none.
        {
          kind: 'route',
          destinations: [{ cluster: 'outbound|443||api.example.com', weight: 100 }],
        },
        { kind: 'direct', status: 500 },
        {
          kind: 'route',
          destinations: [
            { cluster: cluster(), weight: 3 },
            { cluster: cluster(8000, 'ratings.other.svc.cluster.local'), weight: 1 },
          ],
        },
        { kind: 'direct', status: 500 },
      ],
    );
  },
);

t.test(
  'timeouts: request is the route timeout; backendRequest is per try with retry, else the timeout',
  async (t) => {
    const routes = http(
      route(
        'timing',
        `  - matches: [{ path: { type: Exact, value: /a } }]
    timeouts: { request: 10s }
    ${backend}
  - matches: [{ path: { type: Exact, value: /b } }]
    timeouts: { request: 10s, backendRequest: 2s }
    ${backend}
  - matches: [{ path: { type: Exact, value: /c } }]
    timeouts: { request: 10s, backendRequest: 2s }
    retry: { codes: [500, 502], backoff: 100ms }
    ${backend}
  - matches: [{ path: { type: Exact, value: /d } }]
    timeouts: { request: 0s }
    retry: { attempts: 4 }
    ${backend}`,
      ),
    );
    t.strictSame(
      routes.map((r) => [r.matches[0]?.uri, r.timeoutMs, r.retries]),
      [
        [{ exact: '/a' }, 10000, RETRY],
        [{ exact: '/b' }, 2000, RETRY],
        [
          { exact: '/c' },
          10000,
          {
            attempts: 2,
            perTryTimeoutMs: 2000,
            retryOn: [
              'connect-failure',
              'refused-stream',
              'unavailable',
              'cancelled',
              'retriable-status-codes',
            ],
            retriableStatusCodes: [500, 502],
            backoffBaseMs: 100,
          },
        ],
        [
          { exact: '/d' },
          undefined,
          {
            attempts: 4,
            retryOn: ['connect-failure', 'refused-stream', 'unavailable', 'cancelled'],
            retriableStatusCodes: [],
            backoffBaseMs: 25,
          },
        ],
      ],
    );
  },
);

t.test('mirrors (100 % unless a percent or fraction says less) and CORS', async (t) => {
  const [first] = http(
    route(
      'extras',
      `  - filters:
    - { type: RequestMirror, requestMirror: { backendRef: { name: reviews, port: 9080 } } }
    - { type: RequestMirror, requestMirror: { backendRef: { name: reviews, port: 9080 }, percent: 0 } }
    - { type: RequestMirror, requestMirror: { backendRef: { name: reviews, port: 9080 }, fraction: { numerator: 1, denominator: 8 } } }
    - type: CORS
      cors: { allowOrigins: ['https://a.example'], allowMethods: [GET], allowCredentials: true, exposeHeaders: [x-r] }
    ${backend}`,
    ),
  );
  t.strictSame(first?.mirrors, [
    { cluster: cluster(), percentage: 100 },
    { cluster: cluster(), percentage: 12.5 },
  ]);
  t.strictSame(first?.cors, {
    allowOrigins: [{ exact: 'https://a.example' }],
    allowMethods: ['GET'],
    allowHeaders: [],
    exposeHeaders: ['x-r'],
    maxAgeSeconds: 5,
    allowCredentials: true,
  });
});

t.test(
  'a parentRef port limits the route to it; VirtualServices still serve the other ports',
  async (t) => {
    const compiled = compile(
      service('reviews', '[{ name: http, port: 9080 }, { name: http-admin, port: 9090 }]'),
      route('admin', `  - ${backend}`, {
        parent: '{ group: "", kind: Service, name: reviews, port: 9090 }',
      }),
      `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http: [{ route: [{ destination: { host: reviews, port: { number: 9080 } } }] }]`,
    );
    t.strictSame(
      configOf(compiled, 'reviews').http.map((r) => [r.origin, r.matches]),
      [
        ['VirtualService shop/reviews http[0]', [{ port: 9080 }]],
        ['HTTPRoute shop/admin rules[0]', [{ uri: { prefix: '/' }, port: 9090 }]],
      ],
    );
    t.strictSame(compiled.issues, [
      {
        code: 'VirtualServiceIgnoredForHTTPRoute',
        object: { type: 'VirtualService', namespace: 'shop', name: 'reviews' },
        service: { type: 'Service', namespace: 'shop', name: 'reviews' },
        by: { type: 'HTTPRoute', namespace: 'shop', name: 'admin' },
      },
    ]);
  },
);

t.test(
  'routes from other namespaces, and routes with a filter Istio refuses, are left out',
  async (t) => {
    const compiled = compile(
      service('reviews'),
      `apiVersion: v1
kind: Namespace
metadata: { name: consumer }`,
      route('consumer', `  - ${backend.replace('port: 9080', 'namespace: shop, port: 9080')}`, {
        namespace: 'consumer',
      }),
      route(
        'extension',
        `  - filters: [{ type: ExtensionRef, extensionRef: { group: example.com, kind: Plugin, name: p } }]
    ${backend}`,
      ),
    );
    t.same(
      configOf(compiled, 'reviews').http.map((r) => r.origin),
      ['default'],
    );
    t.strictSame(compiled.issues, [
      {
        code: 'RouteFeatureUnsupported',
        object: { type: 'HTTPRoute', namespace: 'shop', name: 'extension' },
        field: 'spec.rules[0].filters[0]',
        reason: 'filter type ExtensionRef is not supported',
      },
    ]);
  },
);
