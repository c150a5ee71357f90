import t from 'tap';
import { parseResources } from '../../api/resources/index.js';
import { buildModel } from './mesh-model.js';

function model(...documents: string[]) {
  const { resources, errors } = parseResources(documents.join('\n---\n'), 'test.yaml');
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  return buildModel(resources);
}

function namespace(name: string, labels: Record<string, string> = {}): string {
  return `apiVersion: v1
kind: Namespace
metadata: { name: ${name}, labels: ${JSON.stringify(labels)} }`;
}

function pod(name: string, labels: Record<string, string>, extra = '', ns = 'shop'): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: ${name}, namespace: ${ns}, labels: ${JSON.stringify(labels)} }
spec:
  ${extra}
  containers: [{ name: app, ports: [{ name: http-web, containerPort: 8080 }] }]
status: { phase: Running, podIP: 10.0.0.1 }`;
}

function service(name: string, selector: Record<string, string>, labels = {}, ns = 'shop'): string {
  return `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: ${ns}, labels: ${JSON.stringify(labels)} }
spec:
  selector: ${JSON.stringify(selector)}
  ports: [{ name: http, port: 80, targetPort: http-web }]`;
}

function serviceEntry(name: string, host: string, ns = 'shop', created?: string): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: ${ns}${created ? `, creationTimestamp: '${created}'` : ''} }
spec:
  hosts: [${host}]
  ports: [{ number: 80, name: http }]
  resolution: DNS`;
}

function waypoint(name: string, waypointFor = 'service'): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: ${name}, namespace: shop, labels: { istio.io/waypoint-for: ${waypointFor} } }
spec:
  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]`;
}

t.test(
  'a service’s endpoints are the pods of its namespace whose labels include its selector',
  async (t) => {
    const m = model(
      pod('reviews-v1', { app: 'reviews', version: 'v1' }),
      pod('reviews-v2', { app: 'reviews', version: 'v2' }),
      pod('ratings', { app: 'ratings' }),
      pod('elsewhere', { app: 'reviews' }, '', 'other'),
      service('reviews', { app: 'reviews' }),
      service('all-v1', { version: 'v1' }),
    );
    const endpoints = m.endpoints.get('shop/reviews.shop.svc.cluster.local') ?? [];
    t.same(
      endpoints.map((e) => (e.workload as { name: string }).name),
      ['reviews-v1', 'reviews-v2'],
    );
    t.same(
      endpoints[0]?.ports,
      [{ servicePort: 80, targetPort: 8080 }],
      'named targetPort resolved',
    );
  },
);

t.test('a service with an empty selector selects nothing', async (t) => {
  const m = model(pod('reviews', { app: 'reviews' }), service('manual', {}));
  t.equal(m.endpoints.get('shop/manual.shop.svc.cluster.local'), undefined);
  t.same(m.pods[0]?.services, []);
});

t.test('ambient enrollment follows the namespace label and the pod’s own', async (t) => {
  const m = model(
    namespace('shop', { 'istio.io/dataplane-mode': 'ambient' }),
    namespace('plain'),
    pod('in', { app: 'a' }),
    pod('out', { 'istio.io/dataplane-mode': 'none' }),
    pod('host', { app: 'a' }, 'hostNetwork: true'),
    pod('self', { 'istio.io/dataplane-mode': 'ambient' }, '', 'plain'),
    pod('unlabelled', {}, '', 'plain'),
  );
  const enrolled = Object.fromEntries(m.pods.map((p) => [p.name, p.ambient]));
  t.same(enrolled, { in: true, out: false, host: false, self: true, unlabelled: false });
});

t.test(
  'a pod naming a waypoint that only serves services is reported, and gets none',
  async (t) => {
    const m = model(
      waypoint('svc-only', 'service'),
      pod('reviews', { 'istio.io/use-waypoint': 'svc-only' }),
    );
    t.equal(m.pods[0]?.waypoint.state, 'wrong-traffic-type');
    t.same(m.issues, [
      {
        code: 'WaypointTrafficTypeMismatch',
        object: { type: 'Pod', namespace: 'shop', name: 'reviews' },
        waypoint: { namespace: 'shop', name: 'svc-only' },
        wanted: 'workload',
      },
    ]);
  },
);

t.test('a namespace service waypoint is simply not a workload waypoint', async (t) => {
  const m = model(
    namespace('shop', { 'istio.io/use-waypoint': 'waypoint' }),
    waypoint('waypoint', 'service'),
    pod('reviews', {}),
  );
  t.equal(m.pods[0]?.waypoint.state, 'none');
  t.same(m.issues, []);
});

t.test('a missing waypoint named by a service is recorded on the service', async (t) => {
  const m = model(service('reviews', { app: 'reviews' }, { 'istio.io/use-waypoint': 'ghost' }));
  t.equal(m.services[0]?.waypoint.state, 'missing');
  t.same(m.issues, [
    {
      code: 'WaypointNotFound',
      object: { type: 'Service', namespace: 'shop', name: 'reviews' },
      waypoint: { namespace: 'shop', name: 'ghost' },
    },
  ]);
});

t.test('only Gateways of class istio-waypoint are waypoints', async (t) => {
  const m = model(
    waypoint('waypoint'),
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: ingress, namespace: shop }
spec:
  gatewayClassName: istio
  listeners: [{ name: http, port: 80, protocol: HTTP }]`,
  );
  t.same([...m.waypoints.keys()], ['shop/waypoint']);
  t.equal(m.waypoints.get('shop/waypoint')?.trafficType, 'service');
});

t.test('a waypoint with a status address is reached there', async (t) => {
  const m = model(`apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: waypoint, namespace: shop }
spec:
  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]
status:
  addresses: [{ type: IPAddress, value: 10.96.5.5 }]`);
  t.same(m.waypoints.get('shop/waypoint')?.address, { kind: 'ip', ip: '10.96.5.5' });
});

t.test('a Kubernetes Service wins its hostname over a ServiceEntry in its namespace', async (t) => {
  const m = model(
    service('reviews', { app: 'reviews' }),
    serviceEntry('shadow', 'reviews.shop.svc.cluster.local'),
  );
  t.same(
    m.services.map((s) => `${s.source}/${s.name}`),
    ['Service/reviews'],
  );
  t.same(m.issues, [
    {
      code: 'ServiceHostnameShadowed',
      object: { type: 'ServiceEntry', namespace: 'shop', name: 'shadow' },
      hostname: 'reviews.shop.svc.cluster.local',
      by: { type: 'Service', namespace: 'shop', name: 'reviews' },
    },
  ]);
});

t.test('the oldest ServiceEntry for a host is canonical across namespaces', async (t) => {
  const m = model(
    serviceEntry('newer', 'api.example.com', 'a', '2024-05-01T00:00:00Z'),
    serviceEntry('older', 'api.example.com', 'b', '2023-01-01T00:00:00Z'),
  );
  t.same(
    m.services.map((s) => [s.namespace, s.canonical]),
    [
      ['a', false],
      ['b', true],
    ],
  );
});

t.test('a ServiceEntry whose host lost keeps no endpoints', async (t) => {
  const m = model(
    serviceEntry('first', 'api.example.com', 'shop', '2023-01-01T00:00:00Z'),
    serviceEntry('second', 'api.example.com', 'shop', '2024-01-01T00:00:00Z'),
  );
  t.same(
    m.serviceEntryEndpoints.map((e) => e.name),
    ['first'],
  );
});

t.test('ExternalName services are not modelled', async (t) => {
  const m = model(`apiVersion: v1
kind: Service
metadata: { name: alias, namespace: shop }
spec: { type: ExternalName, externalName: example.com }`);
  t.same(m.services, []);
});

t.test('a pod made by a Deployment belongs to the Deployment’s workload', async (t) => {
  const m = model(`apiVersion: v1
kind: Pod
metadata:
  name: reviews-v1-7d4f8b9c6d-x2x9k
  generateName: reviews-v1-7d4f8b9c6d-
  namespace: shop
  labels: { app: reviews, pod-template-hash: 7d4f8b9c6d }
  ownerReferences:
    - { apiVersion: apps/v1, kind: ReplicaSet, name: reviews-v1-7d4f8b9c6d, uid: u1, controller: true }
spec:
  containers: [{ name: app }]`);
  t.same(
    m.pods.map((p) => [p.name, p.workloadName]),
    [['reviews-v1-7d4f8b9c6d-x2x9k', 'reviews-v1']],
  );
});

t.test('a pod whose deletion was asked for is terminating', async (t) => {
  const m = model(
    pod('leaving', { app: 'reviews' }).replace(
      'namespace: shop,',
      "namespace: shop, deletionTimestamp: '2024-06-01T12:00:00Z',",
    ),
    pod('staying', { app: 'reviews' }),
  );
  t.same(
    m.pods.map((p) => [p.name, p.terminating]),
    [
      ['leaving', true],
      ['staying', false],
    ],
  );
});

t.test('a named target port resolves through a native sidecar’s ports', async (t) => {
  const withInit = (restartPolicy: string) => `apiVersion: v1
kind: Pod
metadata: { name: proxied-${restartPolicy.toLowerCase()}, namespace: shop, labels: { app: proxied } }
spec:
  initContainers:
    - { name: proxy, restartPolicy: ${restartPolicy}, ports: [{ name: http-proxy, containerPort: 15001 }] }
  containers: [{ name: app, ports: [{ name: http-web, containerPort: 8080 }] }]`;
  const m = model(
    withInit('Always'),
    withInit('Never'),
    `apiVersion: v1
kind: Service
metadata: { name: proxied, namespace: shop }
spec:
  selector: { app: proxied }
  ports:
    - { name: http, port: 80, targetPort: http-web }
    - { name: proxy, port: 81, targetPort: http-proxy }`,
  );
  t.same(
    (m.endpoints.get('shop/proxied.shop.svc.cluster.local') ?? []).map((e) => [
      (e.workload as { name: string }).name,
      e.ports,
    ]),
    [
      [
        'proxied-always',
        [
          { servicePort: 80, targetPort: 8080 },
          { servicePort: 81, targetPort: 15001 },
        ],
      ],
      // An init container that runs to completion serves nothing.
      ['proxied-never', [{ servicePort: 80, targetPort: 8080 }]],
    ],
  );
});

t.test('a Service carries its traffic policies into the model', async (t) => {
  const m = model(
    `apiVersion: v1
kind: Namespace
metadata: { name: shop, annotations: { networking.istio.io/traffic-distribution: PreferSameNode } }`,
    `apiVersion: v1
kind: Service
metadata: { name: local, namespace: shop }
spec:
  internalTrafficPolicy: Local
  trafficDistribution: PreferClose
  publishNotReadyAddresses: true
  ports: [{ port: 80 }]`,
    service('plain', { app: 'plain' }),
    serviceEntry('external', 'api.example.com'),
  );
  t.same(
    m.services.map((s) => [s.name, s.trafficDistribution, s.nodeLocal, s.publishNotReadyAddresses]),
    [
      ['external', 'PreferSameNode', false, false],
      ['local', 'PreferSameZone', true, true],
      // The namespace annotation applies where the service says nothing.
      ['plain', 'PreferSameNode', false, false],
    ],
  );
});

t.test('a service’s endpoints include its pods that are not ready', async (t) => {
  const m = model(pod('warming', { app: 'reviews' }), service('reviews', { app: 'reviews' }));
  const endpoints = m.endpoints.get('shop/reviews.shop.svc.cluster.local') ?? [];
  t.same(
    endpoints.map(({ workload }) => workload.kind === 'Pod' && [workload.name, workload.ready]),
    [['warming', false]],
  );
});
