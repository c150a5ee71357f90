import t from 'tap';
import { parse as parseYaml } from 'yaml';
import { validate } from '../schema/index.js';
import type { Schema } from '../schema/index.js';
import {
  destinationRuleSpec,
  gatewaySpec,
  serviceEntrySpec,
  virtualServiceSpec,
  workloadEntrySpec,
} from './networking.js';

/** The issues of a spec written as YAML, with paths from `spec`. */
function issues(schema: Schema<unknown>, yaml: string) {
  return validate(schema, parseYaml(yaml), 'spec');
}

const vs = (yaml: string) => issues(virtualServiceSpec, yaml);
const dr = (yaml: string) => issues(destinationRuleSpec, yaml);
const se = (yaml: string) => issues(serviceEntrySpec, yaml);
const gw = (yaml: string) => issues(gatewaySpec, yaml);

/** A VirtualService for reviews whose single HTTP route is `route` (indented YAML). */
function httpRoute(route: string): string {
  return `
hosts: [reviews]
http:
- ${route.trim().split('\n').join('\n  ')}
`;
}

t.test('a plain route to a subset with a timeout is valid', async (t) => {
  t.same(
    vs(
      httpRoute(`
route:
- destination: {host: reviews, subset: v1, port: {number: 9080}}
timeout: 1500ms
`),
    ),
    [],
  );
});

t.test('durations must be whole milliseconds of at least 1 ms', async (t) => {
  const route = (timeout: string) =>
    httpRoute(`route: [{destination: {host: reviews}}]\ntimeout: ${timeout}`);
  t.same(vs(route('10s')), []);
  t.same(vs(route('0.5ms')), [{ path: 'spec.http[0].timeout', reason: 'must be at least 1ms' }]);
  t.same(vs(route('1.0005s')), [
    { path: 'spec.http[0].timeout', reason: 'must be a whole number of milliseconds' },
  ]);
  t.same(vs(route('soon')), [
    { path: 'spec.http[0].timeout', reason: 'must be a duration such as "1s" or "100ms"' },
  ]);
});

t.test('weights are non-negative', async (t) => {
  const ok = httpRoute(`
route:
- {destination: {host: reviews, subset: v1}, weight: 0}
- {destination: {host: reviews, subset: v2}, weight: 100}
`);
  t.same(vs(ok), []);
  const negative = httpRoute(`
route:
- {destination: {host: reviews, subset: v1}, weight: -5}
- {destination: {host: reviews, subset: v2}, weight: 100}
`);
  t.same(vs(negative), [{ path: 'spec.http[0].route[0].weight', reason: 'must be at least 0' }]);
});

t.test('more than one destination with a total weight of 0 is rejected', async (t) => {
  const zero = httpRoute(`
route:
- {destination: {host: reviews, subset: v1}, weight: 0}
- {destination: {host: reviews, subset: v2}}
`);
  t.same(vs(zero), [
    {
      path: 'spec.http[0].route',
      reason: 'weights must not all be 0 when there is more than one destination',
    },
  ]);
  // One destination needs no weight at all.
  t.same(vs(httpRoute('route: [{destination: {host: reviews}, weight: 0}]')), []);
});

t.test('subset names are DNS-1123 labels', async (t) => {
  t.same(vs(httpRoute('route: [{destination: {host: reviews, subset: v1-canary}}]')), []);
  t.same(vs(httpRoute('route: [{destination: {host: reviews, subset: v1_canary}}]')), [
    { path: 'spec.http[0].route[0].destination.subset', reason: 'must be a DNS-1123 label' },
  ]);
  t.same(dr('host: reviews\nsubsets: [{name: "v1.0"}]'), [
    { path: 'spec.subsets[0].name', reason: 'must be a DNS-1123 label' },
  ]);
});

t.test('ports are between 1 and 65535', async (t) => {
  const port = (n: number) =>
    httpRoute(`route: [{destination: {host: reviews, port: {number: ${n}}}}]`);
  t.same(vs(port(65535)), []);
  t.same(vs(port(0)), [
    {
      path: 'spec.http[0].route[0].destination.port.number',
      reason: 'must be between 1 and 65535',
    },
  ]);
  t.same(vs(port(65536)), [
    {
      path: 'spec.http[0].route[0].destination.port.number',
      reason: 'must be between 1 and 65535',
    },
  ]);
  t.same(se('hosts: [api.example.com]\nports: [{number: 70000, name: http, protocol: HTTP}]'), [
    { path: 'spec.ports[0].number', reason: 'must be between 1 and 65535' },
  ]);
});

t.test('retryOn accepts Envoy HTTP and gRPC policies and status codes', async (t) => {
  const retries = (retryOn: string) =>
    httpRoute(
      `route: [{destination: {host: reviews}}]\nretries: {attempts: 3, retryOn: "${retryOn}"}`,
    );
  t.same(
    vs(retries('5xx,gateway-error,reset,503,cancelled,unavailable,retriable-status-codes')),
    [],
  );
  t.same(vs(retries('5xx,bogus')), [
    { path: 'spec.http[0].retries.retryOn', reason: '"bogus" is not a valid retryOn policy' },
  ]);
  t.same(vs(retries('5xx, reset')), [
    { path: 'spec.http[0].retries.retryOn', reason: '" reset" is not a valid retryOn policy' },
  ]);
});

t.test('attempts 0 with perTryTimeout or retryOn is rejected', async (t) => {
  const retries = (body: string) =>
    httpRoute(`route: [{destination: {host: reviews}}]\nretries: {${body}}`);
  t.same(vs(retries('attempts: 0')), []);
  t.same(vs(retries('attempts: 2, perTryTimeout: 2s, retryOn: 5xx')), []);
  t.same(vs(retries('attempts: 0, perTryTimeout: 2s')), [
    {
      path: 'spec.http[0].retries.perTryTimeout',
      reason: 'cannot be set when attempts is 0 (retries disabled)',
    },
  ]);
  // An absent attempts is 0 in Istio's proto3 semantics.
  t.same(vs(retries('retryOn: 5xx')), [
    {
      path: 'spec.http[0].retries.retryOn',
      reason: 'cannot be set when attempts is 0 (retries disabled)',
    },
  ]);
});

t.test('a fault needs a delay or an abort', async (t) => {
  const fault = (body: string) =>
    httpRoute(`route: [{destination: {host: reviews}}]\nfault: ${body}`);
  t.same(vs(fault('{delay: {fixedDelay: 7s, percentage: {value: 100}}}')), []);
  t.same(vs(fault('{}')), [{ path: 'spec.http[0].fault', reason: 'must set delay or abort' }]);
});

t.test('a fault percentage is 0 or within [0.0001, 100]', async (t) => {
  const pct = (v: number) =>
    httpRoute(
      `route: [{destination: {host: reviews}}]\nfault: {abort: {httpStatus: 500, percentage: {value: ${v}}}}`,
    );
  t.same(vs(pct(0)), []);
  t.same(vs(pct(0.0001)), []);
  t.same(vs(pct(100)), []);
  for (const bad of [0.00001, 100.5, -1]) {
    t.same(vs(pct(bad)), [
      {
        path: 'spec.http[0].fault.abort.percentage.value',
        reason: 'must be 0 or between 0.0001 and 100',
      },
    ]);
  }
});

t.test('an abort status is between 200 and 600', async (t) => {
  const abort = (status: number) =>
    httpRoute(`route: [{destination: {host: reviews}}]\nfault: {abort: {httpStatus: ${status}}}`);
  t.same(vs(abort(503)), []);
  t.same(vs(abort(199)), [
    { path: 'spec.http[0].fault.abort.httpStatus', reason: 'must be between 200 and 600' },
  ]);
  t.same(vs(abort(601)), [
    { path: 'spec.http[0].fault.abort.httpStatus', reason: 'must be between 200 and 600' },
  ]);
});

t.test('redirect excludes route, rewrite, fault and directResponse', async (t) => {
  t.same(vs(httpRoute('redirect: {uri: /v1/bookRatings, authority: newratings.default.svc}')), []);
  t.same(vs(httpRoute('redirect: {uri: /new}\nroute: [{destination: {host: reviews}}]')), [
    { path: 'spec.http[0].route', reason: 'cannot be set together with redirect' },
  ]);
  t.same(vs(httpRoute('redirect: {uri: /new}\nrewrite: {uri: /old}')), [
    { path: 'spec.http[0].rewrite', reason: 'cannot be set together with redirect' },
  ]);
  t.same(vs(httpRoute('redirect: {uri: /new}\ndirectResponse: {status: 503}')), [
    { path: 'spec.http[0].directResponse', reason: 'cannot be set together with redirect' },
  ]);
});

t.test('directResponse excludes route, rewrite and fault', async (t) => {
  t.same(vs(httpRoute('directResponse: {status: 503, body: {string: "unavailable"}}')), []);
  t.same(vs(httpRoute('directResponse: {status: 503}\nfault: {abort: {httpStatus: 500}}')), [
    { path: 'spec.http[0].fault', reason: 'cannot be set together with directResponse' },
  ]);
  t.same(vs(httpRoute('directResponse: {status: 503}\nroute: [{destination: {host: reviews}}]')), [
    { path: 'spec.http[0].route', reason: 'cannot be set together with directResponse' },
  ]);
});

t.test('an HTTP route needs route, redirect, directResponse or delegate', async (t) => {
  t.same(vs(httpRoute('delegate: {name: reviews-routes, namespace: bookinfo}')), []);
  t.same(vs(httpRoute('timeout: 1s')), [
    { path: 'spec.http[0]', reason: 'must set route, redirect, directResponse or delegate' },
  ]);
});

t.test('mirror and mirrors are exclusive', async (t) => {
  const base = 'route: [{destination: {host: reviews}}]\n';
  t.same(
    vs(httpRoute(`${base}mirror: {host: reviews, subset: v2}\nmirrorPercentage: {value: 50}`)),
    [],
  );
  t.same(
    vs(httpRoute(`${base}mirrors: [{destination: {host: reviews}, percentage: {value: 5}}]`)),
    [],
  );
  t.same(
    vs(httpRoute(`${base}mirror: {host: reviews}\nmirrors: [{destination: {host: ratings}}]`)),
    [{ path: 'spec.http[0].mirrors', reason: 'cannot be set together with mirror' }],
  );
});

t.test('regexes must compile and be at most 1024 characters', async (t) => {
  const uri = (regex: string) =>
    httpRoute(`match: [{uri: {regex: '${regex}'}}]\nroute: [{destination: {host: reviews}}]`);
  t.same(vs(uri('^/api/v[0-9]+/(?P<rest>.*)$')), []);
  const [broken] = vs(uri('/api/(unclosed'));
  t.equal(broken?.path, 'spec.http[0].match[0].uri.regex');
  t.match(broken?.reason, /^must be a valid regular expression: /);
  t.same(vs(uri('a'.repeat(1025))), [
    { path: 'spec.http[0].match[0].uri.regex', reason: 'must be at most 1024 characters' },
  ]);
  t.same(vs(uri('(?=lookahead)')), [
    {
      path: 'spec.http[0].match[0].uri.regex',
      reason:
        'must be a valid RE2 regular expression: look-around assertions are not supported by RE2',
    },
  ]);
  t.same(
    vs(
      httpRoute(
        `rewrite: {uriRegexRewrite: {match: '(', rewrite: '/x'}}\nroute: [{destination: {host: reviews}}]`,
      ),
    ).map((i) => i.path),
    ['spec.http[0].rewrite.uriRegexRewrite.match'],
  );
});

t.test('a string match sets at most one of exact, prefix and regex', async (t) => {
  t.same(
    vs(
      httpRoute(
        'match: [{headers: {end-user: {exact: jason, prefix: ja}}}]\nroute: [{destination: {host: reviews}}]',
      ),
    ),
    [
      {
        path: 'spec.http[0].match[0].headers.end-user.prefix',
        reason: 'cannot be set together with exact',
      },
    ],
  );
});

t.test('duplicate subset names are rejected', async (t) => {
  t.same(dr('host: reviews\nsubsets: [{name: v1, labels: {version: v1}}, {name: v2}]'), []);
  t.same(dr('host: reviews\nsubsets: [{name: v1}, {name: v2}, {name: v1}]'), [
    { path: 'spec.subsets[2].name', reason: 'duplicate subset name v1' },
  ]);
});

t.test('a DestinationRule traffic policy follows Istio rules', async (t) => {
  t.same(
    dr(`
host: reviews.default.svc.cluster.local
trafficPolicy:
  loadBalancer: {simple: LEAST_REQUEST}
  connectionPool: {tcp: {maxConnections: 100, connectTimeout: 30ms, idleTimeout: 0s}, http: {http2MaxRequests: 1000}}
  outlierDetection: {consecutive5xxErrors: 7, interval: 5m, baseEjectionTime: 15m, maxEjectionPercent: 10}
  tls: {mode: ISTIO_MUTUAL}
`),
    [],
  );
  t.same(dr('host: reviews\ntrafficPolicy: {loadBalancer: {simple: FASTEST}}'), [
    {
      path: 'spec.trafficPolicy.loadBalancer.simple',
      reason:
        'must be one of UNSPECIFIED, LEAST_CONN, RANDOM, PASSTHROUGH, ROUND_ROBIN, LEAST_REQUEST',
    },
  ]);
  t.same(dr('host: reviews\ntrafficPolicy: {outlierDetection: {maxEjectionPercent: 150}}'), [
    {
      path: 'spec.trafficPolicy.outlierDetection.maxEjectionPercent',
      reason: 'must be between 0 and 100',
    },
  ]);
  t.same(dr('host: reviews\ntrafficPolicy: {tls: {mode: MUTUAL}}'), [
    { path: 'spec.trafficPolicy.tls.clientCertificate', reason: 'is required for MUTUAL mode' },
    { path: 'spec.trafficPolicy.tls.privateKey', reason: 'is required for MUTUAL mode' },
  ]);
  t.same(dr('host: reviews\ntrafficPolicy: {}'), [
    { path: 'spec.trafficPolicy', reason: 'must set at least one policy' },
  ]);
});

t.test('unknown fields are rejected, catching typos', async (t) => {
  t.same(vs(httpRoute('route: [{destination: {host: reviews}}]\ntimeuot: 1s')), [
    { path: 'spec.http[0].timeuot', reason: 'unknown field' },
  ]);
});

t.test('a VirtualService needs routes, and hosts unless it is a delegate', async (t) => {
  t.same(vs('hosts: [reviews]'), [{ path: 'spec', reason: 'must set http, tcp or tls routes' }]);
  // A delegate (no hosts) may not bind to gateways or carry TCP/TLS routes.
  t.same(vs('http: [{route: [{destination: {host: reviews}}]}]'), []);
  t.same(vs('gateways: [bookinfo-gateway]\nhttp: [{route: [{destination: {host: reviews}}]}]'), [
    { path: 'spec.gateways', reason: 'must be empty in a delegate (no hosts)' },
  ]);
});

t.test('a VirtualService for the mesh may not claim every host', async (t) => {
  const spec = (gateways: string) =>
    `hosts: ["*"]\n${gateways}http: [{route: [{destination: {host: reviews}}]}]`;
  t.same(vs(spec('gateways: [istio-system/ingress]\n')), []);
  t.same(vs(spec('')), [
    { path: 'spec.hosts[0]', reason: '"*" is not allowed for virtual services bound to the mesh' },
  ]);
});

t.test('TCP and TLS routes need destinations; SNI hosts lie within the hosts', async (t) => {
  t.same(
    vs(
      'hosts: [db.example.com]\ntcp: [{match: [{port: 5432}], route: [{destination: {host: db.example.com}}]}]',
    ),
    [],
  );
  t.same(vs('hosts: [db.example.com]\ntcp: [{match: [{port: 5432}]}]'), [
    { path: 'spec.tcp[0].route', reason: 'is required' },
  ]);
  t.same(
    vs(
      'hosts: ["*.example.com"]\ntls: [{match: [{sniHosts: [other.org]}], route: [{destination: {host: a.example.com}}]}]',
    ),
    [
      {
        path: 'spec.tls[0].match[0].sniHosts[0]',
        reason: 'must be covered by one of the virtual service hosts',
      },
    ],
  );
});

t.test('a Gateway server needs a port and hosts', async (t) => {
  const ok = `
selector: {istio: ingressgateway}
servers:
- port: {number: 80, name: http, protocol: HTTP}
  hosts: ["bookinfo/*.example.com"]
- port: {number: 443, name: https, protocol: HTTPS}
  hosts: ["*"]
  tls: {mode: SIMPLE, credentialName: bookinfo-cert}
`;
  t.same(gw(ok), []);
  t.same(gw('servers: [{hosts: ["*"]}]'), [
    { path: 'spec.servers[0].port', reason: 'is required' },
  ]);
  t.same(gw('servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: []}]'), [
    { path: 'spec.servers[0].hosts', reason: 'must not be empty' },
  ]);
  t.same(gw('servers: []'), [{ path: 'spec.servers', reason: 'must not be empty' }]);
});

t.test('a Gateway HTTPS server needs TLS settings and a known protocol', async (t) => {
  t.same(gw('servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ["*"]}]'), [
    { path: 'spec.servers[0].tls', reason: 'is required for HTTPS servers' },
  ]);
  t.same(gw('servers: [{port: {number: 80, name: x, protocol: SPDY}, hosts: ["*"]}]'), [
    {
      path: 'spec.servers[0].port.protocol',
      reason:
        'must be one of HTTP, HTTPS, GRPC, GRPC-WEB, HTTP2, HTTP_PROXY, MONGO, REDIS, MYSQL, TCP, TLS, UDP',
    },
  ]);
  t.same(
    gw(
      'servers: [{port: {number: 80, name: http, protocol: http}, hosts: ["*"], tls: {httpsRedirect: true}}]',
    ),
    [],
  );
});

t.test('Gateway hosts are namespace-scoped DNS names without short names', async (t) => {
  t.same(gw('servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["reviews"]}]'), [
    {
      path: 'spec.servers[0].hosts[0]',
      reason: 'short names (not fully qualified) are not allowed',
    },
  ]);
});

t.test('a ServiceEntry needs at least one host, never "*"', async (t) => {
  const ports = 'ports: [{number: 443, name: https, protocol: TLS}]\nresolution: DNS\n';
  t.same(se(`hosts: [api.example.com]\n${ports}`), []);
  t.same(se(ports), [{ path: 'spec.hosts', reason: 'is required' }]);
  t.same(se(`hosts: []\n${ports}`), [{ path: 'spec.hosts', reason: 'must not be empty' }]);
  t.same(se('hosts: ["*"]\nresolution: NONE'), [
    { path: 'spec.hosts[0]', reason: 'must not be "*"' },
  ]);
});

t.test('a ServiceEntry takes endpoints or a workloadSelector, not both', async (t) => {
  const head =
    'hosts: [vm.example.com]\nports: [{number: 80, name: http, protocol: HTTP}]\nresolution: STATIC\n';
  t.same(se(`${head}endpoints: [{address: 10.0.0.1, ports: {http: 8080}}]`), []);
  t.same(se(`${head}workloadSelector: {labels: {app: vm}}`), []);
  t.same(se(`${head}endpoints: [{address: 10.0.0.1}]\nworkloadSelector: {labels: {app: vm}}`), [
    { path: 'spec.endpoints', reason: 'cannot be set together with workloadSelector' },
  ]);
});

t.test('ServiceEntry endpoints follow the resolution mode', async (t) => {
  const head = 'hosts: [vm.example.com]\nports: [{number: 80, name: http, protocol: HTTP}]\n';
  t.same(se(`${head}resolution: STATIC\nendpoints: [{address: vm.example.com}]`), [
    { path: 'spec.endpoints[0].address', reason: 'must be an IP address' },
  ]);
  t.same(se(`${head}resolution: NONE\nendpoints: [{address: 10.0.0.1}]`), [
    { path: 'spec.endpoints', reason: 'must be empty with NONE resolution' },
  ]);
  t.same(se(`${head}resolution: STATIC\nendpoints: [{address: 10.0.0.1, ports: {grpc: 9090}}]`), [
    { path: 'spec.endpoints[0].ports.grpc', reason: 'must name a port of the service entry' },
  ]);
  t.same(se(`${head}resolution: DNS\naddresses: [10.0.0.0/24]`), [
    {
      path: 'spec.addresses',
      reason: 'CIDR blocks are allowed only with NONE or STATIC resolution',
    },
  ]);
});

t.test('a WorkloadEntry needs an address unless it names a network', async (t) => {
  t.same(issues(workloadEntrySpec, 'address: 10.1.2.3\nlabels: {app: vm}\nserviceAccount: vm'), []);
  t.same(issues(workloadEntrySpec, 'network: remote'), []);
  t.same(issues(workloadEntrySpec, 'labels: {app: vm}'), [
    { path: 'spec.address', reason: 'is required unless network is set' },
  ]);
  t.same(issues(workloadEntrySpec, 'address: 10.1.2.3\nlabels: {"app/": vm}'), [
    { path: 'spec.labels["app/"]', reason: 'must be a valid label key' },
  ]);
});
