import t from 'tap';
import { parseResources } from '../../api/resources/index.js';
import { pod, service, WAYPOINT_NAMESPACE } from '../waypoint/testing/mesh.js';
import { analyze } from './analyze.js';
import type { AnalysisMessage } from './message.js';

// Each check fires on a config that has the problem and stays silent on the same config
// put right. The base config is a namespace `shop` in the ambient mesh with its waypoint,
// and services `reviews` (pods v1, v2) and `ratings`.

const BASE = [
  WAYPOINT_NAMESPACE,
  service('reviews'),
  service('ratings', undefined, '10.96.0.11'),
  pod('reviews-v1', 'app: reviews, version: v1', '10.0.0.1'),
  pod('reviews-v2', 'app: reviews, version: v2', '10.0.0.2'),
  pod('ratings-v1', 'app: ratings', '10.0.0.3'),
];

function run(...documents: string[]): AnalysisMessage[] {
  const { resources, errors } = parseResources([...BASE, ...documents].join('\n---\n'), 'x.yaml');
  return analyze({ resources, errors });
}

function codes(messages: AnalysisMessage[]): string[] {
  return messages.map((m) =>
    `${m.code} ${m.resource.kind} ${m.resource.name} ${m.field ?? ''}`.trim(),
  );
}

const SUBSETS = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: shop }
spec:
  host: reviews
  subsets: [{ name: v1, labels: { version: v1 } }, { name: v2, labels: { version: v2 } }]`;

function vs(name: string, hosts: string, http: string, ns = 'shop'): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: ${ns} }
spec:
  hosts: ${hosts}
  http: ${http}`;
}

t.test('the base config is clean', async (t) => {
  t.same(codes(run(SUBSETS)), []);
});

t.test('IST0106: a document that fails validation, with its file and line', async (t) => {
  const found = run(
    vs('bad', '[reviews]', '[{ route: [{ destination: { host: reviews } }], timeout: soon }]'),
  );
  t.same(codes(found), ['IST0106 VirtualService bad spec.http[0].timeout']);
  t.equal(found[0]!.level, 'Error');
  t.equal(found[0]!.resource.file, 'x.yaml');
  t.type(found[0]!.resource.line, 'number');
});

t.test('IST0101: a VirtualService host that names no service', async (t) => {
  const route = '[{ route: [{ destination: { host: reviews } }] }]';
  t.same(codes(run(vs('typo', '[reveiws]', route))), ['IST0101 VirtualService typo spec.hosts[0]']);
  t.same(codes(run(vs('typo', '[reviews]', route))), []);
});

t.test('IST0101: a destination host that names no service', async (t) => {
  const found = run(vs('r', '[reviews]', '[{ route: [{ destination: { host: nowhere } }] }]'));
  t.same(codes(found), ['IST0101 VirtualService r spec.http[0].route[0].destination.host']);
  t.match(found[0]!.message, /nowhere\.shop\.svc\.cluster\.local/);
});

t.test('IST0101: a destination subset no DestinationRule defines', async (t) => {
  const route = (subset: string) =>
    `[{ route: [{ destination: { host: reviews, subset: ${subset} } }] }]`;
  const found = run(SUBSETS, vs('r', '[reviews]', route('v3')));
  t.same(codes(found), ['IST0101 VirtualService r spec.http[0].route[0].destination.subset']);
  t.match(found[0]!.message, /DestinationRule shop\/reviews defines v1, v2/);
  t.match(found[0]!.fix, /add subset v3/);
  t.same(codes(run(SUBSETS, vs('r', '[reviews]', route('v2')))), []);
  t.same(
    codes(run(vs('r', '[reviews]', route('v2')))),
    ['IST0101 VirtualService r spec.http[0].route[0].destination.subset'],
    'no DestinationRule at all',
  );
});

t.test('IST0109: two VirtualServices for one host in one namespace', async (t) => {
  const route = '[{ route: [{ destination: { host: reviews } }] }]';
  const found = run(
    vs('a', '[reviews]', route),
    vs('b', '[reviews.shop.svc.cluster.local]', route),
  );
  t.same(codes(found), [
    'IST0109 VirtualService a spec.hosts[0]',
    'IST0109 VirtualService b spec.hosts[0]',
  ]);
  t.same(codes(run(vs('a', '[reviews]', route), vs('b', '[ratings]', route))), []);
});

t.test('AMB0007: a VirtualService for a service no waypoint serves', async (t) => {
  const optOut = `apiVersion: v1
kind: Service
metadata: { name: details, namespace: shop, labels: { istio.io/use-waypoint: none } }
spec: { clusterIP: 10.96.0.12, selector: { app: details }, ports: [{ name: http, port: 9080 }] }`;
  const found = run(
    optOut,
    vs('d', '[details]', '[{ route: [{ destination: { host: details } }] }]'),
  );
  t.same(codes(found), ['AMB0007 VirtualService d spec.hosts[0]']);
  t.equal(found[0]!.level, 'Info');
});

function policy(name: string, body: string, ns = 'shop'): string {
  return `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${ns} }
spec:
  ${body}`;
}

t.test('IST0127: a policy selector that selects no workload', async (t) => {
  const found = run(policy('p', 'selector: { matchLabels: { app: reveiws } }'));
  t.same(codes(found), ['IST0127 AuthorizationPolicy p spec.selector.matchLabels']);
  t.equal(found[0]!.level, 'Warning');
  t.same(codes(run(policy('p', 'selector: { matchLabels: { app: reviews } }'))), []);
  const pa = (app: string) => `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: pa, namespace: shop }
spec: { selector: { matchLabels: { app: ${app} } }, mtls: { mode: STRICT } }`;
  t.same(codes(run(pa('nothing'))), ['IST0127 PeerAuthentication pa spec.selector.matchLabels']);
  t.same(codes(run(pa('reviews'))), []);
});

t.test('IST0101 and IST0167: a targetRef to a missing or unserved service', async (t) => {
  const target = (name: string) =>
    `targetRefs: [{ kind: Service, group: "", name: ${name} }]\n  action: DENY\n  rules: [{ to: [{ operation: { methods: [POST] } }] }]`;
  t.same(codes(run(policy('p', target('nothing')))), [
    'IST0101 AuthorizationPolicy p spec.targetRefs[0]',
  ]);
  t.same(codes(run(policy('p', target('reviews')))), []);
  const optOut = `apiVersion: v1
kind: Service
metadata: { name: details, namespace: shop, labels: { istio.io/use-waypoint: none } }
spec: { clusterIP: 10.96.0.12, selector: { app: details }, ports: [{ name: http, port: 9080 }] }`;
  t.same(codes(run(optOut, policy('p', target('details')))), [
    'IST0167 AuthorizationPolicy p spec.targetRefs[0]',
  ]);
});

t.test('IST0101: istio.io/use-waypoint names a waypoint that does not exist', async (t) => {
  const ns = (waypoint: string) => `apiVersion: v1
kind: Namespace
metadata: { name: other, labels: { istio.io/dataplane-mode: ambient, istio.io/use-waypoint: ${waypoint} } }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: other }
spec: { clusterIP: 10.96.1.1, selector: { app: web }, ports: [{ name: http, port: 80 }] }`;
  const found = run(ns('missing'));
  t.same(codes(found), ["IST0101 Namespace other metadata.labels['istio.io/use-waypoint']"]);
  t.match(found[0]!.message, /other\/missing/);
  t.equal(found[0]!.resource.namespace, undefined, 'a namespace is cluster-scoped');
  t.same(codes(run(ns('none'))), []);
});

const LEGACY = `apiVersion: v1
kind: Namespace
metadata: { name: legacy }
---
apiVersion: v1
kind: Pod
metadata: { name: old-client, namespace: legacy, labels: { app: old-client } }
spec: { containers: [{ name: app }] }
status: { phase: Running, podIP: 10.0.1.1 }`;

const STRICT_SHOP = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: strict, namespace: shop }
spec: { mtls: { mode: STRICT } }`;

t.test('AMB0101: a STRICT pod that is not in the ambient mesh', async (t) => {
  const optedOut = `apiVersion: v1
kind: Pod
metadata: { name: batch, namespace: shop, labels: { app: batch, istio.io/dataplane-mode: none } }
spec: { containers: [{ name: app }] }
status: { phase: Running, podIP: 10.0.0.9 }`;
  const found = run(STRICT_SHOP, optedOut);
  t.same(codes(found), ['AMB0101 Pod batch']);
  t.same(codes(run(optedOut)), [], 'silent without STRICT');
});

t.test('AMB0102: clients outside the mesh named as clients of STRICT workloads', async (t) => {
  const allowLegacy = policy(
    'from-legacy',
    'selector: { matchLabels: { app: reviews } }\n  rules: [{ from: [{ source: { namespaces: [legacy] } }] }]',
  );
  t.same(codes(run(STRICT_SHOP, LEGACY, allowLegacy)), [
    'AMB0102 AuthorizationPolicy from-legacy spec.rules[0].from[0].source.namespaces[0]',
  ]);
  t.same(codes(run(LEGACY, allowLegacy)), [], 'silent without STRICT');
  const bySource = vs(
    'by-source',
    '[reviews]',
    '[{ match: [{ sourceNamespace: legacy }], route: [{ destination: { host: reviews } }] }]',
  );
  t.same(codes(run(STRICT_SHOP, LEGACY, bySource)), [
    'AMB0102 VirtualService by-source spec.http[0].match[0].sourceNamespace',
  ]);
  const enrolled = LEGACY.replace(
    'name: legacy }',
    'name: legacy, labels: { istio.io/dataplane-mode: ambient } }',
  );
  t.same(codes(run(STRICT_SHOP, enrolled, bySource, allowLegacy)), [], 'silent once enrolled');
});

t.test('findings are sorted most severe first and each names a fix', async (t) => {
  const found = run(
    policy('p', 'selector: { matchLabels: { app: nothing } }'),
    vs('typo', '[reveiws]', '[{ route: [{ destination: { host: reviews } }] }]'),
  );
  t.same(
    found.map((m) => m.level),
    ['Error', 'Warning'],
  );
  t.ok(found.every((m) => m.fix.length > 0));
});

t.test('the model and compiler issues, each with its code', async (t) => {
  t.test('AMB0001: a waypoint that does not allow routes from the namespace', async (t) => {
    const other = `apiVersion: v1
kind: Namespace
metadata: { name: other, labels: { istio.io/use-waypoint: waypoint, istio.io/use-waypoint-namespace: shop } }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: other }
spec: { clusterIP: 10.96.1.1, selector: { app: web }, ports: [{ name: http, port: 80 }] }`;
    t.same(codes(run(other)), ["AMB0001 Service web metadata.labels['istio.io/use-waypoint']"]);
  });

  t.test('AMB0002: a waypoint for workloads named by a service', async (t) => {
    const own = `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: pods-only, namespace: shop, labels: { istio.io/waypoint-for: workload } }
spec:
  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]
---
apiVersion: v1
kind: Service
metadata: { name: details, namespace: shop, labels: { istio.io/use-waypoint: pods-only } }
spec: { clusterIP: 10.96.0.12, selector: { app: details }, ports: [{ name: http, port: 9080 }] }`;
    t.same(codes(run(own)), ["AMB0002 Service details metadata.labels['istio.io/use-waypoint']"]);
  });

  t.test('AMB0003: a hostname another object already declares', async (t) => {
    const entry = (name: string, created: string) => `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: shop, creationTimestamp: '${created}' }
spec: { hosts: [api.example.com], ports: [{ number: 443, name: tls, protocol: TLS }], resolution: DNS }`;
    const found = run(
      entry('first', '2024-01-01T00:00:00Z'),
      entry('second', '2024-02-01T00:00:00Z'),
    );
    t.same(codes(found), ['AMB0003 ServiceEntry second']);
    t.match(found[0]!.message, /ServiceEntry shop\/first/);
  });

  t.test('AMB0006: a route to a port the destination does not have', async (t) => {
    const found = run(
      vs(
        'r',
        '[reviews]',
        '[{ route: [{ destination: { host: reviews, port: { number: 1234 } } }] }]',
      ),
    );
    t.same(codes(found), ['AMB0006 VirtualService r']);
    t.same(
      codes(
        run(
          vs(
            'r',
            '[reviews]',
            '[{ route: [{ destination: { host: reviews, port: { number: 9080 } } }] }]',
          ),
        ),
      ),
      [],
    );
  });
});
