import t from 'tap';
import { parseResources } from '../../api/resources/index.js';
import type { GatewayProxy } from '../../api/gateway/config.js';
import { buildModel } from '../model/mesh-model.js';
import { compileGateways } from './compile.js';

// Istio Gateway / Gateway API Gateway → GatewayProxy. Istio sources: pilot/pkg/networking/core/
// gateway.go (servers, hosts, httpsRedirect, credentials), pilot/pkg/model/virtualservice.go
// (gateway binding), pilot/pkg/config/kube/gateway (Gateway API conversion).

const BASE = `apiVersion: v1
kind: Namespace
metadata: { name: istio-system }
---
apiVersion: v1
kind: Namespace
metadata: { name: httpbin, labels: { istio.io/dataplane-mode: ambient } }
---
apiVersion: v1
kind: Pod
metadata: { name: ingress-0, namespace: istio-system, labels: { istio: ingressgateway } }
spec: { serviceAccountName: istio-ingressgateway, containers: [{ name: proxy }] }
status: { phase: Running, podIP: 10.0.0.5, conditions: [{ type: Ready, status: "True" }] }
---
apiVersion: v1
kind: Service
metadata: { name: httpbin, namespace: httpbin }
spec:
  clusterIP: 10.96.0.20
  selector: { app: httpbin }
  ports: [{ name: http, port: 8000, targetPort: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: httpbin-0, namespace: httpbin, labels: { app: httpbin } }
spec: { serviceAccountName: httpbin, containers: [{ name: app }] }
status: { phase: Running, podIP: 10.0.1.7, conditions: [{ type: Ready, status: "True" }] }`;

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: httpbin-gateway, namespace: httpbin }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 80, name: http, protocol: HTTP }
    hosts: ["httpbin.example.com"]`;

const VS = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: httpbin, namespace: httpbin }
spec:
  hosts: ["httpbin.example.com"]
  gateways: ["httpbin-gateway"]
  http:
  - match: [{ uri: { prefix: /status } }, { uri: { prefix: /delay } }]
    route: [{ destination: { host: httpbin, port: { number: 8000 } } }]`;

const RESOURCE = 'istio-system/istio-ingressgateway/ingress-0';

function compile(...documents: string[]) {
  const { resources, errors } = parseResources([BASE, ...documents].join('\n---\n'), 'test.yaml');
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  return compileGateways(buildModel(resources), {
    trustDomain: 'cluster.local',
    rootNamespace: 'istio-system',
  });
}

function gatewayOf(...documents: string[]): GatewayProxy {
  const config = compile(...documents).gateways.get(RESOURCE);
  if (config === undefined) throw new Error('no GatewayProxy for the ingress pod');
  return config;
}

function secret(name: string, data: Record<string, string>, namespace = 'istio-system'): string {
  const encoded = Object.entries(data)
    .map(([k, v]) => `  ${k}: ${Buffer.from(v).toString('base64')}`)
    .join('\n');
  return `apiVersion: v1
kind: Secret
metadata: { name: ${name}, namespace: ${namespace} }
type: kubernetes.io/tls
data:
${encoded}`;
}

t.test(
  "the Istio docs' httpbin gateway: one HTTP listener, the VirtualService's routes for its host",
  async (t) => {
    const config = gatewayOf(GATEWAY, VS);
    t.equal(config.listeners.length, 1);
    const [listener] = config.listeners;
    t.equal(listener?.port, 80);
    t.equal(listener?.protocol, 'http');
    const [server] = listener?.servers ?? [];
    t.same(server?.hosts, ['httpbin.example.com']);
    t.equal(server?.virtualHosts.length, 1);
    const [vh] = server?.virtualHosts ?? [];
    t.same(vh?.domains, ['httpbin.example.com']);
    t.equal(vh?.routes.length, 1);
    t.equal(vh?.routes[0]?.origin, 'VirtualService httpbin/httpbin http[0]');
    t.same(vh?.routes[0]?.matches, [{ uri: { prefix: '/status' } }, { uri: { prefix: '/delay' } }]);
    const [cluster] = config.clusters;
    t.equal(cluster?.name, 'outbound|8000||httpbin.httpbin.svc.cluster.local');
    t.same(cluster?.endpoints, [
      {
        address: '10.0.1.7',
        port: 8080,
        identity: 'spiffe://cluster.local/ns/httpbin/sa/httpbin',
        healthy: true,
      },
    ]);
  },
);

t.test(
  'a VirtualService not naming the gateway, or naming only mesh, does not bind to it',
  async (t) => {
    const meshOnly = VS.replace('gateways: ["httpbin-gateway"]', 'gateways: ["mesh"]');
    t.same(gatewayOf(GATEWAY, meshOnly).listeners[0]?.servers[0]?.virtualHosts, []);
    const other = VS.replace('httpbin-gateway', 'istio-system/httpbin-gateway');
    t.same(gatewayOf(GATEWAY, other).listeners[0]?.servers[0]?.virtualHosts, []);
    const qualified = VS.replace('"httpbin-gateway"', '"httpbin/httpbin-gateway"');
    t.equal(gatewayOf(GATEWAY, qualified).listeners[0]?.servers[0]?.virtualHosts.length, 1);
  },
);

t.test(
  'a server host namespace prefix admits only VirtualServices of that namespace',
  async (t) => {
    const scoped = GATEWAY.replace('"httpbin.example.com"', '"other/httpbin.example.com"');
    t.same(gatewayOf(scoped, VS).listeners[0]?.servers[0]?.virtualHosts, []);
    const own = GATEWAY.replace('"httpbin.example.com"', '"./httpbin.example.com"');
    t.equal(gatewayOf(own, VS).listeners[0]?.servers[0]?.virtualHosts.length, 1);
  },
);

t.test(
  'a wildcard server host takes the VirtualService host; a wildcard VS host the server host',
  async (t) => {
    const wild = GATEWAY.replace('"httpbin.example.com"', '"*.example.com"');
    t.same(gatewayOf(wild, VS).listeners[0]?.servers[0]?.virtualHosts[0]?.domains, [
      'httpbin.example.com',
    ]);
    const wildVs = VS.replace('hosts: ["httpbin.example.com"]', 'hosts: ["*"]');
    t.same(gatewayOf(GATEWAY, wildVs).listeners[0]?.servers[0]?.virtualHosts[0]?.domains, [
      'httpbin.example.com',
    ]);
    const elsewhere = VS.replace('hosts: ["httpbin.example.com"]', 'hosts: ["x.other.org"]');
    t.same(gatewayOf(GATEWAY, elsewhere).listeners[0]?.servers[0]?.virtualHosts, []);
  },
);

t.test('httpsRedirect makes every host of the server a 301 to https', async (t) => {
  const redirect = `${GATEWAY}\n    tls: { httpsRedirect: true }`;
  const [vh] = gatewayOf(redirect, VS).listeners[0]?.servers[0]?.virtualHosts ?? [];
  t.same(
    vh?.routes.map((r) => r.action),
    [{ kind: 'redirect', redirect: { scheme: 'https', derivePort: 'protocol', status: 301 } }],
  );
});

t.test('SIMPLE credentialName is read from a Secret in the gateway pod namespace', async (t) => {
  const https =
    GATEWAY.replace(
      '- port: { number: 80, name: http, protocol: HTTP }',
      '- port: { number: 443, name: https, protocol: HTTPS }',
    ) + '\n    tls: { mode: SIMPLE, credentialName: httpbin-credential }';
  const withSecret = gatewayOf(
    https,
    VS,
    secret('httpbin-credential', { 'tls.crt': 'CERT', 'tls.key': 'KEY' }),
  );
  const [listener] = withSecret.listeners;
  t.equal(listener?.protocol, 'https');
  t.same(listener?.servers[0]?.tls, {
    mode: 'simple',
    credential: { source: 'secret', certificateChain: 'CERT', privateKey: 'KEY' },
  });
  t.equal(listener?.servers[0]?.virtualHosts.length, 1);
  const elsewhere = gatewayOf(
    https,
    VS,
    secret('httpbin-credential', { 'tls.crt': 'C', 'tls.key': 'K' }, 'httpbin'),
  );
  t.same(elsewhere.listeners[0]?.servers[0]?.tls, {
    mode: 'simple',
    problem: 'Secret istio-system/httpbin-credential not found',
  });
});

t.test('MUTUAL takes its CA from ca.crt or from the <name>-cacert Secret', async (t) => {
  const mutual =
    GATEWAY.replace(
      '- port: { number: 80, name: http, protocol: HTTP }',
      '- port: { number: 443, name: https, protocol: HTTPS }',
    ) + '\n    tls: { mode: MUTUAL, credentialName: cred }';
  const split = gatewayOf(
    mutual,
    VS,
    secret('cred', { 'tls.crt': 'C', 'tls.key': 'K' }),
    secret('cred-cacert', { 'ca.crt': 'CA' }),
  );
  t.equal(split.listeners[0]?.servers[0]?.tls?.credential?.caCertificates, 'CA');
  const missing = gatewayOf(mutual, VS, secret('cred', { 'tls.crt': 'C', 'tls.key': 'K' }));
  t.match(missing.listeners[0]?.servers[0]?.tls?.problem, /MUTUAL needs ca\.crt/);
});

t.test('PASSTHROUGH routes by the VirtualService tls sniHosts', async (t) => {
  const passthrough = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: tls-gateway, namespace: httpbin }
spec:
  selector: { istio: ingressgateway }
  servers:
  - port: { number: 443, name: tls, protocol: TLS }
    hosts: ["nginx.example.com"]
    tls: { mode: PASSTHROUGH }`;
  const tlsVs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: nginx, namespace: httpbin }
spec:
  hosts: ["nginx.example.com"]
  gateways: [tls-gateway]
  tls:
  - match: [{ port: 443, sniHosts: [nginx.example.com] }]
    route: [{ destination: { host: httpbin, port: { number: 8000 } } }]`;
  const [server] = gatewayOf(passthrough, tlsVs).listeners[0]?.servers ?? [];
  t.same(server?.tls, { mode: 'passthrough' });
  t.same(server?.tcp, [
    {
      origin: 'VirtualService httpbin/nginx tls[0]',
      sniHosts: ['nginx.example.com'],
      destinations: [{ cluster: 'outbound|8000||httpbin.httpbin.svc.cluster.local', weight: 100 }],
    },
  ]);
});

t.test(
  'a Gateway API Gateway of class istio with an HTTPRoute configures its labelled pods',
  async (t) => {
    const pod = `apiVersion: v1
kind: Pod
metadata:
  name: web-istio-0
  namespace: httpbin
  labels: { gateway.networking.k8s.io/gateway-name: web }
spec: { serviceAccountName: web-istio, containers: [{ name: proxy }] }
status: { phase: Running, podIP: 10.0.1.9, conditions: [{ type: Ready, status: "True" }] }`;
    const gateway = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: web, namespace: httpbin }
spec:
  gatewayClassName: istio
  listeners: [{ name: http, hostname: "*.example.com", port: 80, protocol: HTTP }]`;
    const route = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: httpbin, namespace: httpbin }
spec:
  parentRefs: [{ name: web, sectionName: http }]
  hostnames: [httpbin.example.com, other.org]
  rules:
  - matches: [{ path: { type: PathPrefix, value: /get } }]
    backendRefs: [{ name: httpbin, port: 8000 }]`;
    const compiled = compile(pod, gateway, route);
    const config = compiled.gateways.get('httpbin/web-istio/web-istio-0');
    const [vh] = config?.listeners[0]?.servers[0]?.virtualHosts ?? [];
    t.same(vh?.domains, ['httpbin.example.com']);
    t.same(
      vh?.routes.map((r) => r.matches),
      [[{ uri: { exact: '/get' } }], [{ uri: { prefix: '/get/' } }]],
    );
    t.equal(compiled.gateways.get(RESOURCE), undefined, 'the Istio ingress pod is not selected');
    const waypoint = gateway.replace('gatewayClassName: istio', 'gatewayClassName: istio-waypoint');
    t.equal(compile(pod, waypoint, route).gateways.size, 0, 'a waypoint Gateway is no ingress');
  },
);

t.test(
  'istio.io/ingress-use-waypoint sends the service through its waypoint with the VIP as authority',
  async (t) => {
    const waypoint = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: waypoint, namespace: httpbin }
spec:
  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]
---
apiVersion: v1
kind: Service
metadata: { name: waypoint, namespace: httpbin }
spec:
  clusterIP: 10.96.0.30
  selector: { gateway.networking.k8s.io/gateway-name: waypoint }
  ports: [{ name: mesh, port: 15008 }]
---
apiVersion: v1
kind: Pod
metadata: { name: waypoint-0, namespace: httpbin, labels: { gateway.networking.k8s.io/gateway-name: waypoint } }
spec: { serviceAccountName: waypoint, containers: [{ name: proxy }] }
status: { phase: Running, podIP: 10.0.1.20, conditions: [{ type: Ready, status: "True" }] }`;
    const labelled = (value: string) =>
      BASE.replace(
        'metadata: { name: httpbin, namespace: httpbin }\nspec:\n  clusterIP',
        `metadata: { name: httpbin, namespace: httpbin, labels: { istio.io/use-waypoint: waypoint, istio.io/ingress-use-waypoint: "${value}" } }\nspec:\n  clusterIP`,
      );
    const build = (value: string) => {
      const { resources, errors } = parseResources(
        [labelled(value), waypoint, GATEWAY, VS].join('\n---\n'),
        'x.yaml',
      );
      if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
      return compileGateways(buildModel(resources), {
        trustDomain: 'cluster.local',
        rootNamespace: 'istio-system',
      }).gateways.get(RESOURCE);
    };
    t.same(build('true')?.clusters[0]?.endpoints, [
      {
        address: '10.0.1.20',
        port: 8000,
        identity: 'spiffe://cluster.local/ns/httpbin/sa/waypoint',
        healthy: true,
        authority: '10.96.0.20:8000',
      },
    ]);
    t.equal(build('false')?.clusters[0]?.endpoints[0]?.address, '10.0.1.7');
  },
);

t.test(
  "Telemetry at the gateway: a selector on its pod's labels beats its namespace's",
  async (t) => {
    const telemetry = (namespace: string, name: string, body: string) =>
      `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${body}`;
    const meshWide = telemetry(
      'istio-system',
      'mesh-default',
      `  accessLogging: [{ providers: [{ name: envoy }] }]
  tracing: [{ randomSamplingPercentage: 5 }]`,
    );
    const root = gatewayOf(GATEWAY, VS, meshWide).telemetry;
    t.same(root?.accessLogging, { providers: ['envoy'], disabled: false });
    t.equal(root?.tracing?.randomSamplingPercentage, 5);
    t.same(
      root?.source,
      {
        workload: 'ingress-0',
        namespace: 'istio-system',
        canonicalService: 'ingress-0',
        canonicalRevision: 'latest',
        cluster: 'Kubernetes',
      },
      'the source labels: the gateway pod itself',
    );
    t.same(Object.keys(root?.workloads ?? {}), ['10.0.1.7'], 'destination facts for the endpoints');
    t.equal(root?.workloads['10.0.1.7']?.workload, 'httpbin-0');

    const scoped = gatewayOf(
      GATEWAY,
      VS,
      meshWide,
      telemetry(
        'istio-system',
        'by-selector',
        `  selector: { matchLabels: { istio: ingressgateway } }
  tracing: [{ randomSamplingPercentage: 50 }]`,
      ),
      telemetry(
        'istio-system',
        'other-pods',
        `  selector: { matchLabels: { app: nothing-here } }
  tracing: [{ randomSamplingPercentage: 1 }]`,
      ),
      telemetry(
        'httpbin',
        'not-the-gateway',
        '  tracing: [{ randomSamplingPercentage: 99 }]\n  accessLogging: [{ disabled: false }]',
      ),
    ).telemetry;
    t.equal(scoped?.tracing?.randomSamplingPercentage, 50, 'a selector on the pod labels wins');
    t.same(
      scoped?.accessLogging,
      { providers: ['envoy'], disabled: false },
      "each section on its own; another namespace's Telemetry does not apply",
    );

    // Istio counts a gateway as a client: SERVER entries pass it by.
    const modes = gatewayOf(
      GATEWAY,
      VS,
      telemetry(
        'istio-system',
        'modes',
        `  tracing:
  - { match: { mode: SERVER }, randomSamplingPercentage: 10 }
  - { match: { mode: CLIENT }, randomSamplingPercentage: 20 }`,
      ),
    ).telemetry;
    t.equal(modes?.tracing?.randomSamplingPercentage, 20);
  },
);
