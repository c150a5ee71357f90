import t from 'tap';
import { WAYPOINT_CLASS, WAYPOINT_LISTENER } from './gateway-api.js';
import type { HTTPRouteSpec, KubernetesGatewaySpec } from './gateway-api.js';
import { validateResource } from './load.js';

type Problem = [path: string, reason: string];

function gateway(spec: unknown, apiVersion = 'gateway.networking.k8s.io/v1') {
  return { apiVersion, kind: 'Gateway', metadata: { name: 'gw', namespace: 'bookinfo' }, spec };
}

function route(spec: unknown, apiVersion = 'gateway.networking.k8s.io/v1') {
  return {
    apiVersion,
    kind: 'HTTPRoute',
    metadata: { name: 'reviews', namespace: 'bookinfo' },
    spec,
  };
}

function problems(doc: unknown): Problem[] {
  return validateResource(doc).errors.map((e) => [e.path, e.reason]);
}

function parsed<T>(doc: unknown): T {
  const { resource, errors } = validateResource(doc);
  if (resource === undefined) throw new Error(errors.map((e) => e.message).join('\n'));
  return resource.spec as T;
}

const http = { name: 'http', port: 80, protocol: 'HTTP' };
const listeners = (...ls: object[]) => ({ gatewayClassName: 'istio', listeners: ls });
const backend = { name: 'reviews', port: 9080 };
/** A route with one rule. */
const rule = (r: object) => ({ rules: [r] });

// ---- Gateway ----

t.test('an Istio waypoint Gateway validates and is a KubernetesGateway', async (t) => {
  const doc = gateway({ gatewayClassName: WAYPOINT_CLASS, listeners: [{ ...WAYPOINT_LISTENER }] });
  const { resource, errors } = validateResource(doc);
  t.same(errors, []);
  t.equal(resource?.type, 'KubernetesGateway');
  t.same((resource?.spec as KubernetesGatewaySpec).listeners, [
    {
      name: 'mesh',
      port: 15008,
      protocol: 'HBONE',
      allowedRoutes: { namespaces: { from: 'Same' } },
    },
  ]);
});

t.test('a Gateway is served at v1 and v1beta1', async (t) => {
  t.same(problems(gateway(listeners(http), 'gateway.networking.k8s.io/v1beta1')), []);
  t.same(problems(gateway(listeners(http), 'gateway.networking.k8s.io/v1alpha2')), [
    [
      'apiVersion',
      'version v1alpha2 of Gateway is not served; use gateway.networking.k8s.io/v1, gateway.networking.k8s.io/v1beta1',
    ],
  ]);
});

t.test('a Gateway needs a class and between 1 and 64 listeners', async (t) => {
  t.same(problems(gateway({ listeners: [http] })), [['spec.gatewayClassName', 'is required']]);
  t.same(problems(gateway({ gatewayClassName: 'istio', listeners: [] })), [
    ['spec.listeners', 'must not be empty'],
  ]);
  const many = Array.from({ length: 65 }, (_, i) => ({
    name: `l${i}`,
    port: 1000 + i,
    protocol: 'HTTP',
  }));
  t.same(problems(gateway({ gatewayClassName: 'istio', listeners: many })), [
    ['spec.listeners', 'must have at most 64 items'],
  ]);
  t.same(problems(gateway({ gatewayClassName: 'istio', listeners: many.slice(0, 64) })), []);
});

t.test('listener ports are 1 to 65535', async (t) => {
  t.same(problems(gateway(listeners({ ...http, port: 65535 }))), []);
  t.same(problems(gateway(listeners({ ...http, port: 0 }))), [
    ['spec.listeners[0].port', 'must be between 1 and 65535'],
  ]);
});

t.test('listener names are DNS subdomains and unique within the Gateway', async (t) => {
  t.same(problems(gateway(listeners({ ...http, name: 'Web_1' }))), [
    ['spec.listeners[0].name', 'must be a DNS-1123 subdomain'],
  ]);
  t.same(problems(gateway(listeners(http, { ...http, port: 8080 }))), [
    [
      'spec.listeners[1].name',
      'duplicate listener name http: listener names must be unique within the Gateway',
    ],
  ]);
  t.same(problems(gateway(listeners(http, { ...http, name: 'http-alt', port: 8080 }))), []);
});

t.test('no two listeners share port, protocol and hostname', async (t) => {
  const a = { ...http, hostname: 'a.example.com' };
  t.same(problems(gateway(listeners(a, { ...a, name: 'b', hostname: 'b.example.com' }))), []);
  t.same(problems(gateway(listeners(a, { ...a, name: 'b' }))), [
    [
      'spec.listeners[1]',
      'the combination of port, protocol and hostname must be unique for each listener',
    ],
  ]);
});

t.test('listener protocols are names or domain-prefixed names', async (t) => {
  t.same(problems(gateway(listeners({ ...http, protocol: 'example.com/quic' }))), []);
  t.same(problems(gateway(listeners({ ...http, protocol: 'HTTP/2' }))), [
    [
      'spec.listeners[0].protocol',
      'must be a protocol name such as HTTP, HTTPS, TLS, TCP, UDP or HBONE',
    ],
  ]);
});

t.test('tls is not allowed on HTTP, TCP and UDP listeners', async (t) => {
  const tls = { certificateRefs: [{ name: 'cert' }] };
  t.same(problems(gateway(listeners({ ...http, tls }))), [
    ['spec.listeners[0].tls', 'must not be specified for protocol HTTP'],
  ]);
  t.same(problems(gateway(listeners({ name: 'udp', port: 53, protocol: 'UDP', tls }))), [
    ['spec.listeners[0].tls', 'must not be specified for protocol UDP'],
  ]);
});

t.test('an HTTPS listener terminates TLS with certificates', async (t) => {
  const https = { name: 'https', port: 443, protocol: 'HTTPS' };
  const doc = gateway(listeners({ ...https, tls: { certificateRefs: [{ name: 'cert' }] } }));
  t.same(parsed<KubernetesGatewaySpec>(doc).listeners[0]?.tls, {
    mode: 'Terminate',
    certificateRefs: [{ group: '', kind: 'Secret', name: 'cert' }],
  });
  t.same(problems(gateway(listeners({ ...https, tls: { mode: 'Passthrough' } }))), [
    ['spec.listeners[0].tls.mode', 'must be Terminate for protocol HTTPS'],
  ]);
  t.same(problems(gateway(listeners({ ...https, tls: {} }))), [
    [
      'spec.listeners[0].tls.certificateRefs',
      'certificateRefs or options must be specified when mode is Terminate',
    ],
  ]);
  t.same(
    problems(gateway(listeners({ ...https, tls: { options: { 'example.com/cert': 'x' } } }))),
    [],
  );
});

t.test('a TLS listener must say how it handles TLS', async (t) => {
  const tlsListener = { name: 'tls', port: 443, protocol: 'TLS' };
  t.same(problems(gateway(listeners({ ...tlsListener, tls: { mode: 'Passthrough' } }))), []);
  t.same(problems(gateway(listeners(tlsListener))), [
    ['spec.listeners[0].tls', 'is required for protocol TLS (it sets the tls mode)'],
  ]);
});

t.test('hostnames are lowercase DNS names, not allowed on TCP and UDP listeners', async (t) => {
  t.same(problems(gateway(listeners({ ...http, hostname: '*.example.com' }))), []);
  t.same(problems(gateway(listeners({ ...http, hostname: 'Example.com' }))), [
    ['spec.listeners[0].hostname', 'must be a lowercase DNS name, optionally starting with "*."'],
  ]);
  t.same(
    problems(
      gateway(listeners({ name: 'tcp', port: 3306, protocol: 'TCP', hostname: 'db.example.com' })),
    ),
    [['spec.listeners[0].hostname', 'must not be specified for protocol TCP']],
  );
});

t.test('allowedRoutes defaults to the same namespace and takes at most 8 kinds', async (t) => {
  const kinds = (n: number) => Array.from({ length: n }, () => ({ kind: 'HTTPRoute' }));
  const doc = gateway(
    listeners({ ...http, allowedRoutes: { namespaces: { from: 'All' }, kinds: kinds(1) } }),
  );
  t.same(parsed<KubernetesGatewaySpec>(doc).listeners[0]?.allowedRoutes, {
    namespaces: { from: 'All' },
    kinds: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }],
  });
  t.same(problems(gateway(listeners({ ...http, allowedRoutes: { kinds: kinds(9) } }))), [
    ['spec.listeners[0].allowedRoutes.kinds', 'must have at most 8 items'],
  ]);
  t.same(
    problems(gateway(listeners({ ...http, allowedRoutes: { namespaces: { from: 'Other' } } }))),
    [['spec.listeners[0].allowedRoutes.namespaces.from', 'must be one of All, Selector, Same']],
  );
});

t.test('a namespace selector follows label selector rules', async (t) => {
  const selector = (s: object) =>
    gateway(
      listeners({ ...http, allowedRoutes: { namespaces: { from: 'Selector', selector: s } } }),
    );
  t.same(
    problems(selector({ matchExpressions: [{ key: 'env', operator: 'In', values: ['prod'] }] })),
    [],
  );
  t.same(problems(selector({ matchExpressions: [{ key: 'env', operator: 'In' }] })), [
    [
      'spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[0].values',
      'must not be empty for operator In',
    ],
  ]);
});

t.test('an IPAddress address is an IP, unique in the Gateway', async (t) => {
  const addresses = (...a: object[]) => gateway({ ...listeners(http), addresses: a });
  const spec = parsed<KubernetesGatewaySpec>(
    addresses({ value: '10.0.0.1' }, { type: 'Hostname', value: 'gw.example.com' }),
  );
  t.same(spec.addresses, [
    { type: 'IPAddress', value: '10.0.0.1' },
    { type: 'Hostname', value: 'gw.example.com' },
  ]);
  t.same(problems(addresses({ value: 'gw.example.com' })), [
    ['spec.addresses[0].value', 'must be an IPv4 or IPv6 address for type IPAddress'],
  ]);
  t.same(problems(addresses({ value: '10.0.0.1' }, { type: 'IPAddress', value: '10.0.0.1' })), [
    ['spec.addresses[1].value', 'IPAddress values must be unique'],
  ]);
});

t.test('infrastructure labels are valid labels, at most 8', async (t) => {
  const infra = (labels: object) => gateway({ ...listeners(http), infrastructure: { labels } });
  t.same(problems(infra({ 'istio.io/dataplane-mode': 'ambient' })), []);
  t.same(problems(infra({ 'bad key!': 'x' })), [
    ['spec.infrastructure.labels["bad key!"]', 'must be a valid label key'],
  ]);
  const nine = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`l${i}`, 'x']));
  t.same(problems(infra(nine)), [['spec.infrastructure.labels', 'must have at most 8 entries']]);
});

t.test('a Gateway refuses fields the Gateway API does not define', async (t) => {
  t.same(problems(gateway({ ...listeners(http), listners: [] })), [
    ['spec.listners', 'unknown field'],
  ]);
});

// ---- HTTPRoute ----

t.test('an HTTPRoute without rules gets one matching every path', async (t) => {
  t.same(parsed<HTTPRouteSpec>(route({ parentRefs: [{ name: 'gw' }] })), {
    parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' }],
    rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }] }],
  });
  t.same(problems(route({ rules: [] })), [['spec.rules', 'must not be empty']]);
});

t.test('a path match defaults to PathPrefix "/"', async (t) => {
  const spec = parsed<HTTPRouteSpec>(
    route(
      rule({
        matches: [{ method: 'GET' }, { path: { value: '/api' } }, { path: { type: 'Exact' } }],
      }),
    ),
  );
  t.same(spec.rules[0]?.matches, [
    { method: 'GET', path: { type: 'PathPrefix', value: '/' } },
    { path: { type: 'PathPrefix', value: '/api' } },
    { path: { type: 'Exact', value: '/' } },
  ]);
  const noMatches = parsed<HTTPRouteSpec>(route(rule({ backendRefs: [backend] })));
  t.same(noMatches.rules[0]?.matches, [{ path: { type: 'PathPrefix', value: '/' } }]);
});

t.test('Exact and PathPrefix values are clean absolute paths', async (t) => {
  const path = (p: object) => problems(route(rule({ matches: [{ path: p }] })));
  t.same(path({ type: 'Exact', value: '/api/v1/reviews' }), []);
  t.same(path({ value: 'api' }), [
    ['spec.rules[0].matches[0].path.value', "must be an absolute path starting with '/'"],
  ]);
  t.same(path({ value: '/a//b' }), [
    ['spec.rules[0].matches[0].path.value', "must not contain '//'"],
  ]);
  t.same(path({ type: 'Exact', value: '/a/%2F' }), [
    ['spec.rules[0].matches[0].path.value', "must not contain '%2F'"],
  ]);
  t.same(path({ value: '/a/..' }), [
    ['spec.rules[0].matches[0].path.value', "must not end with '/..'"],
  ]);
  t.same(path({ value: '/a b' }), [
    [
      'spec.rules[0].matches[0].path.value',
      "must contain only URI path characters (letters, digits, -._~!$&'()*+,;=:@/ and %XX escapes)",
    ],
  ]);
});

t.test('a RegularExpression path need not start with "/" but must compile', async (t) => {
  const path = (value: string) =>
    problems(route(rule({ matches: [{ path: { type: 'RegularExpression', value } }] })));
  t.same(path('.*/reviews/[0-9]+'), []);
  const syntaxError = (pattern: string) => {
    try {
      new RegExp(pattern);
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error(`${pattern} compiles`);
  };
  t.same(path('/reviews/(['), [
    [
      'spec.rules[0].matches[0].path.value',
      `must be a valid regular expression: ${syntaxError('/reviews/([')}`,
    ],
  ]);
  t.same(path('x'.repeat(1025)), [
    ['spec.rules[0].matches[0].path.value', 'must be at most 1024 characters'],
  ]);
});

t.test('header matches default to Exact and name each header once', async (t) => {
  const headers = (...h: object[]) => route(rule({ matches: [{ headers: h }] }));
  t.same(
    parsed<HTTPRouteSpec>(headers({ name: 'end-user', value: 'jason' })).rules[0]?.matches[0]
      ?.headers,
    [{ type: 'Exact', name: 'end-user', value: 'jason' }],
  );
  t.same(problems(headers({ name: 'end-user', value: 'a' }, { name: 'end-user', value: 'b' })), [
    ['spec.rules[0].matches[0].headers[1].name', 'duplicate header name end-user'],
  ]);
  t.same(problems(headers({ name: 'bad header', value: 'a' })), [
    ['spec.rules[0].matches[0].headers[0].name', 'must be a valid HTTP header name'],
  ]);
  t.same(problems(route(rule({ matches: [{ queryParams: [{ name: 'q', value: '' }] }] }))), [
    ['spec.rules[0].matches[0].queryParams[0].value', 'must not be empty'],
  ]);
});

t.test('a method match is an HTTP method', async (t) => {
  t.same(problems(route(rule({ matches: [{ method: 'PATCH' }] }))), []);
  t.same(problems(route(rule({ matches: [{ method: 'get' }] }))), [
    [
      'spec.rules[0].matches[0].method',
      'must be one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH',
    ],
  ]);
});

t.test('backend weights default to 1 and range from 0 to 1000000', async (t) => {
  const spec = parsed<HTTPRouteSpec>(
    route(rule({ backendRefs: [backend, { ...backend, name: 'v2', weight: 0 }] })),
  );
  t.same(spec.rules[0]?.backendRefs, [
    { group: '', kind: 'Service', name: 'reviews', port: 9080, weight: 1 },
    { group: '', kind: 'Service', name: 'v2', port: 9080, weight: 0 },
  ]);
  t.same(problems(route(rule({ backendRefs: [{ ...backend, weight: 1_000_001 }] }))), [
    ['spec.rules[0].backendRefs[0].weight', 'must be between 0 and 1000000'],
  ]);
  t.same(problems(route(rule({ backendRefs: [{ ...backend, weight: -1 }] }))), [
    ['spec.rules[0].backendRefs[0].weight', 'must be between 0 and 1000000'],
  ]);
});

t.test('a Service backend needs a port from 1 to 65535; other kinds need none', async (t) => {
  t.same(problems(route(rule({ backendRefs: [{ name: 'reviews' }] }))), [
    ['spec.rules[0].backendRefs[0].port', 'is required when referencing a Service'],
  ]);
  t.same(problems(route(rule({ backendRefs: [{ ...backend, port: 65536 }] }))), [
    ['spec.rules[0].backendRefs[0].port', 'must be between 1 and 65535'],
  ]);
  t.same(
    problems(
      route(
        rule({
          backendRefs: [{ group: 'networking.istio.io', kind: 'Hostname', name: 'example.com' }],
        }),
      ),
    ),
    [],
  );
});

t.test('parent reference ports are 1 to 65535', async (t) => {
  t.same(
    problems(route({ parentRefs: [{ group: '', kind: 'Service', name: 'reviews', port: 9080 }] })),
    [],
  );
  t.same(problems(route({ parentRefs: [{ name: 'gw', port: 0 }] })), [
    ['spec.parentRefs[0].port', 'must be between 1 and 65535'],
  ]);
});

t.test('references to one parent differ by sectionName or port', async (t) => {
  t.same(
    problems(
      route({
        parentRefs: [
          { name: 'gw', sectionName: 'http' },
          { name: 'gw', sectionName: 'https' },
        ],
      }),
    ),
    [],
  );
  // A mesh route may attach to two ports of one Service.
  const svc = { group: '', kind: 'Service', name: 'reviews' };
  t.same(
    problems(
      route({
        parentRefs: [
          { ...svc, port: 9080 },
          { ...svc, port: 9090 },
        ],
      }),
    ),
    [],
  );
  t.same(problems(route({ parentRefs: [{ name: 'gw' }, { name: 'gw' }] })), [
    [
      'spec.parentRefs[1]',
      'sectionName or port must be unique when parentRefs includes 2 or more references to the same parent',
    ],
  ]);
  t.same(problems(route({ parentRefs: [{ name: 'gw', sectionName: 'http' }, { name: 'gw' }] })), [
    [
      'spec.parentRefs[1]',
      'sectionName or port must be specified when parentRefs includes 2 or more references to the same parent',
    ],
  ]);
});

t.test('hostnames are DNS names with an optional leading wildcard, at most 16', async (t) => {
  t.same(problems(route({ hostnames: ['*.example.com', 'reviews.bookinfo'] })), []);
  t.same(problems(route({ hostnames: ['10.0.0.1:80'] })), [
    ['spec.hostnames[0]', 'must be a lowercase DNS name, optionally starting with "*."'],
  ]);
  t.same(
    problems(route({ hostnames: Array.from({ length: 17 }, (_, i) => `h${i}.example.com`) })),
    [['spec.hostnames', 'must have at most 16 items']],
  );
});

t.test('a route holds at most 16 rules, 64 matches per rule and 128 matches in all', async (t) => {
  const matches = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ path: { value: `/p${i}` } }));
  t.same(problems(route({ rules: Array.from({ length: 17 }, () => ({})) })), [
    ['spec.rules', 'must have at most 16 items'],
  ]);
  t.same(problems(route(rule({ matches: matches(65) }))), [
    ['spec.rules[0].matches', 'must have at most 64 items'],
  ]);
  t.same(problems(route({ rules: [{ matches: matches(64) }, { matches: matches(64) }] })), []);
  t.same(
    problems(
      route({
        rules: [{ matches: matches(64) }, { matches: matches(64) }, { matches: matches(1) }],
      }),
    ),
    [['spec.rules', 'the total number of matches across all rules must be at most 128, found 129']],
  );
});

t.test('a rule holds at most 16 filters and 16 backends', async (t) => {
  const mirror = { type: 'RequestMirror', requestMirror: { backendRef: backend } };
  t.same(problems(route(rule({ filters: Array.from({ length: 17 }, () => mirror) }))), [
    ['spec.rules[0].filters', 'must have at most 16 items'],
  ]);
  t.same(problems(route(rule({ backendRefs: Array.from({ length: 17 }, () => backend) }))), [
    ['spec.rules[0].backendRefs', 'must have at most 16 items'],
  ]);
});

t.test('a rule name is a DNS subdomain', async (t) => {
  t.same(problems(route(rule({ name: 'reviews-v1' }))), []);
  t.same(problems(route(rule({ name: 'Reviews' }))), [
    ['spec.rules[0].name', 'must be a DNS-1123 subdomain'],
  ]);
});

t.test('each filter type needs its own config and no other', async (t) => {
  const filters = [
    {
      type: 'RequestHeaderModifier',
      requestHeaderModifier: { set: [{ name: 'x-a', value: '1' }], remove: ['x-b'] },
    },
    {
      type: 'ResponseHeaderModifier',
      responseHeaderModifier: { add: [{ name: 'x-c', value: '2' }] },
    },
    { type: 'RequestMirror', requestMirror: { backendRef: backend, percent: 50 } },
    { type: 'URLRewrite', urlRewrite: { hostname: 'reviews.internal' } },
    { type: 'ExtensionRef', extensionRef: { group: 'example.com', kind: 'Filter', name: 'f' } },
    { type: 'CORS', cors: { allowOrigins: ['https://example.com'] } },
  ];
  t.same(problems(route(rule({ filters, backendRefs: [backend] }))), []);
  t.same(problems(route(rule({ filters: [{ type: 'RequestHeaderModifier' }] }))), [
    [
      'spec.rules[0].filters[0].requestHeaderModifier',
      'must be specified for filter type RequestHeaderModifier',
    ],
  ]);
  t.same(
    problems(
      route(rule({ filters: [{ type: 'URLRewrite', urlRewrite: {}, requestRedirect: {} }] })),
    ),
    [
      [
        'spec.rules[0].filters[0].requestRedirect',
        'must not be set when the filter type is URLRewrite',
      ],
    ],
  );
  t.same(problems(route(rule({ filters: [{ type: 'Fault' }] }))), [
    [
      'spec.rules[0].filters[0].type',
      'must be one of RequestHeaderModifier, ResponseHeaderModifier, RequestMirror, RequestRedirect, URLRewrite, ExtensionRef, CORS',
    ],
  ]);
});

t.test(
  'RequestRedirect and URLRewrite exclude each other and most filters do not repeat',
  async (t) => {
    const redirect = { type: 'RequestRedirect', requestRedirect: { scheme: 'https' } };
    const rewrite = { type: 'URLRewrite', urlRewrite: { hostname: 'x.example.com' } };
    const mirror = { type: 'RequestMirror', requestMirror: { backendRef: backend } };
    t.same(problems(route(rule({ filters: [redirect] }))), []);
    t.same(problems(route(rule({ filters: [mirror, mirror], backendRefs: [backend] }))), []);
    t.same(problems(route(rule({ filters: [redirect, rewrite] }))), [
      [
        'spec.rules[0].filters',
        'may specify either a RequestRedirect or a URLRewrite filter, but not both',
      ],
    ]);
    t.same(problems(route(rule({ filters: [rewrite, rewrite] }))), [
      ['spec.rules[0].filters[1].type', 'URLRewrite filter cannot be repeated'],
    ]);
  },
);

t.test('a RequestRedirect filter is not used together with backendRefs', async (t) => {
  const redirect = { type: 'RequestRedirect', requestRedirect: { hostname: 'example.com' } };
  t.same(problems(route(rule({ filters: [redirect], backendRefs: [backend] }))), [
    [
      'spec.rules[0].filters[0]',
      'RequestRedirect filter must not be used together with backendRefs',
    ],
  ]);
});

t.test('a redirect status defaults to 302 and is a redirect code', async (t) => {
  const spec = parsed<HTTPRouteSpec>(
    route(rule({ filters: [{ type: 'RequestRedirect', requestRedirect: { port: 8443 } }] })),
  );
  t.same(spec.rules[0]?.filters?.[0]?.requestRedirect, { port: 8443, statusCode: 302 });
  t.same(
    problems(
      route(rule({ filters: [{ type: 'RequestRedirect', requestRedirect: { statusCode: 200 } }] })),
    ),
    [
      [
        'spec.rules[0].filters[0].requestRedirect.statusCode',
        'must be one of 301, 302, 303, 307, 308',
      ],
    ],
  );
});

t.test('a path modifier sets the field its type names', async (t) => {
  const rewrite = (path: object) =>
    route(rule({ filters: [{ type: 'URLRewrite', urlRewrite: { path } }] }));
  t.same(problems(rewrite({ type: 'ReplaceFullPath', replaceFullPath: '/v2' })), []);
  t.same(problems(rewrite({ type: 'ReplaceFullPath' })), [
    [
      'spec.rules[0].filters[0].urlRewrite.path.replaceFullPath',
      'must be specified when type is ReplaceFullPath',
    ],
  ]);
  t.same(
    problems(
      rewrite({ type: 'ReplaceFullPath', replaceFullPath: '/v2', replacePrefixMatch: '/v2' }),
    ),
    [
      [
        'spec.rules[0].filters[0].urlRewrite.path.replacePrefixMatch',
        'must not be set when type is ReplaceFullPath',
      ],
    ],
  );
});

t.test('replacePrefixMatch needs exactly one PathPrefix match', async (t) => {
  const filters = [
    {
      type: 'URLRewrite',
      urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' } },
    },
  ];
  t.same(problems(route(rule({ matches: [{ path: { value: '/v1' } }], filters }))), []);
  t.same(problems(route(rule({ filters }))), []);
  t.same(problems(route(rule({ matches: [{ path: { type: 'Exact', value: '/v1' } }], filters }))), [
    [
      'spec.rules[0].matches',
      'must be exactly one PathPrefix match when a filter uses path.replacePrefixMatch',
    ],
  ]);
  const onBackend = { ...backend, filters };
  t.same(
    problems(
      route(
        rule({
          matches: [{ path: { value: '/a' } }, { path: { value: '/b' } }],
          backendRefs: [onBackend],
        }),
      ),
    ),
    [
      [
        'spec.rules[0].matches',
        'must be exactly one PathPrefix match when a filter uses path.replacePrefixMatch',
      ],
    ],
  );
});

t.test('a mirror takes a percent or a fraction, not both', async (t) => {
  const mirror = (m: object) =>
    route(
      rule({ filters: [{ type: 'RequestMirror', requestMirror: { backendRef: backend, ...m } }] }),
    );
  t.same(
    parsed<HTTPRouteSpec>(mirror({ fraction: { numerator: 1 } })).rules[0]?.filters?.[0]
      ?.requestMirror?.fraction,
    {
      numerator: 1,
      denominator: 100,
    },
  );
  t.same(problems(mirror({ percent: 10, fraction: { numerator: 1 } })), [
    ['spec.rules[0].filters[0].requestMirror.fraction', 'cannot be set together with percent'],
  ]);
  t.same(problems(mirror({ fraction: { numerator: 3, denominator: 2 } })), [
    [
      'spec.rules[0].filters[0].requestMirror.fraction.numerator',
      'must be less than or equal to denominator',
    ],
  ]);
  t.same(
    problems(
      route(
        rule({
          filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'reviews' } } }],
        }),
      ),
    ),
    [
      [
        'spec.rules[0].filters[0].requestMirror.backendRef.port',
        'is required when referencing a Service',
      ],
    ],
  );
});

t.test('header modifiers name each header once', async (t) => {
  const modifier = (m: object) =>
    route(rule({ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: m }] }));
  t.same(
    problems(
      modifier({
        set: [
          { name: 'a', value: '1' },
          { name: 'A', value: '2' },
        ],
      }),
    ),
    [],
  );
  t.same(
    problems(
      modifier({
        set: [
          { name: 'a', value: '1' },
          { name: 'a', value: '2' },
        ],
      }),
    ),
    [['spec.rules[0].filters[0].responseHeaderModifier.set[1].name', 'duplicate header name a']],
  );
  t.same(problems(modifier({ remove: ['x', 'x'] })), [
    ['spec.rules[0].filters[0].responseHeaderModifier.remove[1]', 'duplicate header name x'],
  ]);
});

t.test('an extension reference names group, kind and name', async (t) => {
  t.same(
    problems(
      route(
        rule({ filters: [{ type: 'ExtensionRef', extensionRef: { kind: 'Filter', name: 'f' } }] }),
      ),
    ),
    [['spec.rules[0].filters[0].extensionRef.group', 'is required']],
  );
});

t.test('a CORS "*" stands alone and maxAge defaults to 5 seconds', async (t) => {
  const cors = (c: object) => route(rule({ filters: [{ type: 'CORS', cors: c }] }));
  t.same(parsed<HTTPRouteSpec>(cors({ allowOrigins: ['*'] })).rules[0]?.filters?.[0]?.cors, {
    allowOrigins: ['*'],
    maxAge: 5,
  });
  t.same(problems(cors({ allowMethods: ['*', 'GET'] })), [
    [
      'spec.rules[0].filters[0].cors.allowMethods',
      'allowMethods cannot contain "*" alongside other values',
    ],
  ]);
  t.same(problems(cors({ allowOrigins: ['example.com'] })), [
    [
      'spec.rules[0].filters[0].cors.allowOrigins[0]',
      'must be "*" or an origin such as https://example.com',
    ],
  ]);
});

t.test(
  'a backendRequest timeout is not longer than the request timeout, unless that is 0s',
  async (t) => {
    const timeouts = (to: object) => route(rule({ timeouts: to }));
    t.same(problems(timeouts({ request: '10s', backendRequest: '2s' })), []);
    t.same(problems(timeouts({ request: '0s', backendRequest: '1h' })), []);
    t.same(problems(timeouts({ request: '1s', backendRequest: '1s500ms' })), [
      [
        'spec.rules[0].timeouts.backendRequest',
        'backendRequest timeout cannot be longer than request timeout',
      ],
    ]);
  },
);

t.test('Gateway API durations use h, m, s and ms only', async (t) => {
  const reason = 'must be a duration such as "10s", "500ms" or "1m30s" (units h, m, s, ms)';
  t.same(problems(route(rule({ timeouts: { request: '1h2m3s4ms' } }))), []);
  t.same(problems(route(rule({ timeouts: { request: '1.5s' } }))), [
    ['spec.rules[0].timeouts.request', reason],
  ]);
  t.same(problems(route(rule({ timeouts: { request: '100us' } }))), [
    ['spec.rules[0].timeouts.request', reason],
  ]);
});

t.test('retry codes are unique 4xx and 5xx statuses and attempts are at least 1', async (t) => {
  const retry = (r: object) => route(rule({ retry: r }));
  t.same(problems(retry({ codes: [500, 503], attempts: 2, backoff: '100ms' })), []);
  t.same(problems(retry({ codes: [399, 600] })), [
    ['spec.rules[0].retry.codes[0]', 'must be between 400 and 599'],
    ['spec.rules[0].retry.codes[1]', 'must be between 400 and 599'],
  ]);
  t.same(problems(retry({ codes: [503, 503] })), [
    ['spec.rules[0].retry.codes[1]', 'duplicate status code 503'],
  ]);
  t.same(problems(retry({ attempts: 0 })), [
    ['spec.rules[0].retry.attempts', 'must be at least 1'],
  ]);
});

t.test('an HTTPRoute is served at v1 and v1beta1', async (t) => {
  t.same(problems(route({}, 'gateway.networking.k8s.io/v1beta1')), []);
  t.same(problems(route({ rules: [{ backendRef: [] }] })), [
    ['spec.rules[0].backendRef', 'unknown field'],
  ]);
});

t.test('gateway-level TLS configures client certificate validation once per port', async (t) => {
  const ca = { group: '', kind: 'ConfigMap', name: 'ca' };
  const tls = (frontend: object) => gateway({ ...listeners(http), tls: { frontend } });
  t.same(
    parsed<KubernetesGatewaySpec>(tls({ default: { validation: { caCertificateRefs: [ca] } } }))
      .tls,
    {
      frontend: { default: { validation: { caCertificateRefs: [ca], mode: 'AllowValidOnly' } } },
    },
  );
  const perPort = { port: 443, tls: { validation: { caCertificateRefs: [ca] } } };
  t.same(problems(tls({ default: {}, perPort: [perPort, perPort] })), [
    [
      'spec.tls.frontend.perPort[1].port',
      'duplicate port 443: each port takes one TLS configuration',
    ],
  ]);
  t.same(problems(tls({ default: { validation: { caCertificateRefs: [] } } })), [
    ['spec.tls.frontend.default.validation.caCertificateRefs', 'must not be empty'],
  ]);
});
