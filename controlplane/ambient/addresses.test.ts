import { toJson } from '@bufbuild/protobuf';
import t from 'tap';
import { AddressSchema } from '../../api/gen/istio/workload/workload_pb.js';
import { parseResources } from '../../api/resources/index.js';
import { buildModel } from '../model/mesh-model.js';
import { DEFAULT_ADDRESS_OPTIONS } from './address-options.js';
import { computeAddresses } from './addresses.js';

/** Parses test config, failing loudly if the fixture itself is invalid. */
function config(...documents: string[]) {
  const { resources, errors } = parseResources(documents.join('\n---\n'), 'test.yaml');
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  return resources;
}

function render(...documents: string[]): Record<string, unknown> {
  const addresses = computeAddresses(buildModel(config(...documents)), DEFAULT_ADDRESS_OPTIONS);
  return Object.fromEntries(
    [...addresses].map(([name, address]) => [name, toJson(AddressSchema, address)]),
  );
}

function b64(...bytes: number[]): string {
  return Buffer.from(bytes).toString('base64');
}

function namespace(name: string, labels: Record<string, string> = {}): string {
  return `apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
  labels: ${JSON.stringify(labels)}`;
}

interface PodFixture {
  name?: string;
  namespace?: string;
  labels?: Record<string, string>;
  ip?: string | undefined;
  ready?: boolean;
  phase?: string;
  /** More metadata fields, as YAML lines indented by two spaces. */
  metadata?: string;
  /** spec.initContainers, as a YAML flow sequence. */
  initContainers?: string;
}

function pod(p: PodFixture = {}): string {
  const status =
    p.ip === undefined
      ? `status: { phase: Pending }`
      : `status:
  phase: ${p.phase ?? 'Running'}
  podIP: ${p.ip}
  podIPs: [{ ip: ${p.ip} }]
  conditions: [{ type: Ready, status: '${p.ready === false ? 'False' : 'True'}' }]`;
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${p.name ?? 'reviews-v1'}
  namespace: ${p.namespace ?? 'shop'}
  labels: ${JSON.stringify(p.labels ?? { app: 'reviews', version: 'v1' })}
${p.metadata ?? ''}
spec:
  nodeName: node-1
  serviceAccountName: bookinfo-reviews
  initContainers: ${p.initContainers ?? '[]'}
  containers:
    - name: reviews
      ports: [{ name: http-web, containerPort: 9080 }]
${status}`;
}

function service(labels: Record<string, string> = {}): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: shop
  labels: ${JSON.stringify(labels)}
spec:
  selector: { app: reviews }
  clusterIP: 10.96.0.10
  ports:
    - { name: http, port: 9080, targetPort: http-web }
    - { name: grpc-api, port: 7070 }`;
}

/** The reviews Service selecting app=reviews, with these spec lines (indented by two). */
function serviceWith(spec: string, annotations: Record<string, string> = {}): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: reviews
  namespace: shop
  annotations: ${JSON.stringify(annotations)}
spec:
  selector: { app: reviews }
  clusterIP: 10.96.0.10
  ${spec}`;
}

function waypoint(name: string, namespace = 'shop', waypointFor?: string, from = 'Same'): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: ${name}
  namespace: ${namespace}
  labels: ${JSON.stringify(waypointFor === undefined ? {} : { 'istio.io/waypoint-for': waypointFor })}
spec:
  gatewayClassName: istio-waypoint
  listeners:
    - name: mesh
      port: 15008
      protocol: HBONE
      allowedRoutes: { namespaces: { from: ${from} } }`;
}

const POD = 'Kubernetes//Pod/shop/reviews-v1';
const SVC = 'shop/reviews.shop.svc.cluster.local';

function workloadOf(rendered: Record<string, unknown>, name = POD) {
  return (rendered[name] as { workload?: Record<string, unknown> } | undefined)?.workload;
}

function serviceOf(rendered: Record<string, unknown>, name = SVC) {
  return (rendered[name] as { service?: Record<string, unknown> } | undefined)?.service;
}

const waypointAddress = (name: string, ns = 'shop') => ({
  hostname: { namespace: ns, hostname: `${name}.${ns}.svc.cluster.local` },
  hboneMtlsPort: 15008,
});

t.test(
  'a ready ambient pod behind a service yields Istio’s exact Workload and Service',
  async (t) => {
    const rendered = render(
      namespace('shop', { 'istio.io/dataplane-mode': 'ambient' }),
      pod({ ip: '10.0.0.1' }),
      service(),
    );
    t.same(Object.keys(rendered).sort(), [POD, SVC]);
    t.strictSame(rendered[POD], {
      workload: {
        uid: POD,
        name: 'reviews-v1',
        namespace: 'shop',
        addresses: [b64(10, 0, 0, 1)],
        tunnelProtocol: 'HBONE',
        serviceAccount: 'bookinfo-reviews',
        node: 'node-1',
        canonicalName: 'reviews',
        canonicalRevision: 'v1',
        workloadType: 'POD',
        workloadName: 'reviews-v1',
        services: {
          [SVC]: {
            ports: [
              // The named targetPort resolved through the pod's container port.
              { servicePort: 9080, targetPort: 9080 },
              { servicePort: 7070, targetPort: 7070 },
            ],
          },
        },
        clusterId: 'Kubernetes',
      },
    });
    t.strictSame(rendered[SVC], {
      service: {
        name: 'reviews',
        namespace: 'shop',
        hostname: 'reviews.shop.svc.cluster.local',
        addresses: [{ address: b64(10, 96, 0, 10) }],
        ports: [
          // Named target ports are 0 on the Service and resolved per workload.
          { servicePort: 9080, appProtocol: 'HTTP11' },
          { servicePort: 7070, targetPort: 7070, appProtocol: 'GRPC' },
        ],
        canonical: true,
      },
    });
  },
);

t.test('a pod without the named target port does not serve that service port', async (t) => {
  const rendered = render(
    pod({ ip: '10.0.0.1' }).replace('name: http-web, ', 'name: metrics, '),
    service(),
  );
  t.strictSame(workloadOf(rendered)?.services, {
    [SVC]: { ports: [{ servicePort: 7070, targetPort: 7070 }] },
  });
});

t.test('a pod outside ambient is reached without a tunnel', async (t) => {
  const plain = render(namespace('shop'), pod({ ip: '10.0.0.1' }));
  t.equal(workloadOf(plain)?.tunnelProtocol, undefined, 'NONE is the default and not written');
  const optedOut = render(
    namespace('shop', { 'istio.io/dataplane-mode': 'ambient' }),
    pod({ ip: '10.0.0.1', labels: { app: 'reviews', 'istio.io/dataplane-mode': 'none' } }),
  );
  t.equal(workloadOf(optedOut)?.tunnelProtocol, undefined, 'dataplane-mode=none opts a pod out');
  const podOnly = render(
    namespace('shop'),
    pod({ ip: '10.0.0.1', labels: { app: 'reviews', 'istio.io/dataplane-mode': 'ambient' } }),
  );
  t.equal(workloadOf(podOnly)?.tunnelProtocol, 'HBONE', 'a pod can enroll itself');
});

t.test(
  'readiness decides a workload’s health; a pod without an IP or that ended has none',
  async (t) => {
    const notReady = render(pod({ ip: '10.0.0.1', ready: false }));
    t.equal(workloadOf(notReady)?.status, 'UNHEALTHY');
    const ready = render(pod({ ip: '10.0.0.1' }));
    t.equal(workloadOf(ready)?.status, undefined, 'HEALTHY is the default and not written');
    t.same(Object.keys(render(pod({ ip: undefined }))), []);
    t.same(Object.keys(render(pod({ ip: '10.0.0.1', phase: 'Succeeded' }))), []);
  },
);

t.test('a terminating pod is unhealthy even while it reports Ready', async (t) => {
  const rendered = render(
    pod({ ip: '10.0.0.1', metadata: "  deletionTimestamp: '2024-06-01T12:00:00Z'" }),
  );
  t.equal(workloadOf(rendered)?.status, 'UNHEALTHY');
});

t.test('a pod made by a Deployment carries the Deployment’s workload name', async (t) => {
  const rendered = render(
    pod({
      ip: '10.0.0.1',
      name: 'reviews-v1-7d4f8b9c6d-x2x9k',
      labels: { 'pod-template-hash': '7d4f8b9c6d' },
      metadata: `  generateName: reviews-v1-7d4f8b9c6d-
  ownerReferences:
    - apiVersion: apps/v1
      kind: ReplicaSet
      name: reviews-v1-7d4f8b9c6d
      uid: 5f3c1a2e-0b7d-4e8a-9c1f-2d6e8a4b7c90
      controller: true`,
    }),
  );
  const workload = workloadOf(rendered, 'Kubernetes//Pod/shop/reviews-v1-7d4f8b9c6d-x2x9k');
  t.strictSame(
    [workload?.name, workload?.workloadName, workload?.canonicalName, workload?.canonicalRevision],
    ['reviews-v1-7d4f8b9c6d-x2x9k', 'reviews-v1', 'reviews-v1', 'latest'],
    'the workload name also stands in for the canonical name',
  );
});

t.test('the workload-name label wins over the pod’s controller', async (t) => {
  const rendered = render(
    pod({
      ip: '10.0.0.1',
      name: 'db-0',
      labels: { app: 'db', 'service.istio.io/workload-name': 'db-primary' },
      metadata: `  generateName: db-
  ownerReferences: [{ apiVersion: apps/v1, kind: StatefulSet, name: db, uid: u1, controller: true }]`,
    }),
  );
  t.equal(workloadOf(rendered, 'Kubernetes//Pod/shop/db-0')?.workloadName, 'db-primary');
});

t.test('a named target port resolves through a native sidecar’s ports', async (t) => {
  const rendered = render(
    pod({
      ip: '10.0.0.1',
      initContainers:
        '[{ name: proxy, restartPolicy: Always, ports: [{ name: http-proxy, containerPort: 15001 }] }]',
    }),
    serviceWith(`ports:
    - { name: http, port: 9080, targetPort: http-web }
    - { name: proxy, port: 80, targetPort: http-proxy }`),
  );
  t.strictSame(workloadOf(rendered)?.services, {
    [SVC]: {
      ports: [
        { servicePort: 9080, targetPort: 9080 },
        { servicePort: 80, targetPort: 15001 },
      ],
    },
  });
});

t.test('an IPv6 pod carries its 16-byte address', async (t) => {
  const rendered = render(pod({ ip: 'fd00::a' }));
  t.strictSame(workloadOf(rendered)?.addresses, [
    b64(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a),
  ]);
});

t.test('a namespace waypoint serves services by default, not workloads', async (t) => {
  const rendered = render(
    namespace('shop', {
      'istio.io/dataplane-mode': 'ambient',
      'istio.io/use-waypoint': 'waypoint',
    }),
    waypoint('waypoint'),
    pod({ ip: '10.0.0.1' }),
    service(),
  );
  t.strictSame(serviceOf(rendered)?.waypoint, waypointAddress('waypoint'));
  t.equal(workloadOf(rendered)?.waypoint, undefined);
});

t.test('waypoint-for decides which traffic a waypoint takes', async (t) => {
  for (const [waypointFor, forService, forWorkload] of [
    ['service', true, false],
    ['workload', false, true],
    ['all', true, true],
    ['none', false, false],
  ] as const) {
    const rendered = render(
      namespace('shop', { 'istio.io/use-waypoint': 'waypoint' }),
      waypoint('waypoint', 'shop', waypointFor),
      pod({ ip: '10.0.0.1' }),
      service(),
    );
    t.equal(serviceOf(rendered)?.waypoint !== undefined, forService, `${waypointFor}: service`);
    t.equal(workloadOf(rendered)?.waypoint !== undefined, forWorkload, `${waypointFor}: workload`);
  }
});

t.test('a service’s own label picks its waypoint over the namespace’s', async (t) => {
  const rendered = render(
    namespace('shop', { 'istio.io/use-waypoint': 'shared' }),
    waypoint('shared'),
    waypoint('reviews-waypoint'),
    service({ 'istio.io/use-waypoint': 'reviews-waypoint' }),
  );
  t.strictSame(serviceOf(rendered)?.waypoint, waypointAddress('reviews-waypoint'));
});

t.test('use-waypoint=none on a service or a pod opts out of the namespace waypoint', async (t) => {
  const rendered = render(
    namespace('shop', { 'istio.io/use-waypoint': 'waypoint' }),
    waypoint('waypoint', 'shop', 'all'),
    pod({ ip: '10.0.0.1', labels: { app: 'reviews', 'istio.io/use-waypoint': 'none' } }),
    service({ 'istio.io/use-waypoint': 'none' }),
  );
  t.equal(serviceOf(rendered)?.waypoint, undefined);
  t.equal(workloadOf(rendered)?.waypoint, undefined);
});

t.test('a pod labelled with a workload waypoint uses it', async (t) => {
  const rendered = render(
    waypoint('pod-waypoint', 'shop', 'workload'),
    pod({ ip: '10.0.0.1', labels: { app: 'reviews', 'istio.io/use-waypoint': 'pod-waypoint' } }),
    service(),
  );
  t.strictSame(workloadOf(rendered)?.waypoint, waypointAddress('pod-waypoint'));
  t.equal(serviceOf(rendered)?.waypoint, undefined, 'the service has no label of its own');
});

t.test('a waypoint in another namespace binds only where its listener allows', async (t) => {
  const labels = {
    'istio.io/use-waypoint': 'egress',
    'istio.io/use-waypoint-namespace': 'infra',
  };
  const allowed = render(waypoint('egress', 'infra', 'service', 'All'), service(labels));
  t.strictSame(serviceOf(allowed)?.waypoint, waypointAddress('egress', 'infra'));
  const denied = render(waypoint('egress', 'infra', 'service', 'Same'), service(labels));
  t.equal(serviceOf(denied)?.waypoint, undefined);
});

t.test('a waypoint that does not exist is left out and recorded', async (t) => {
  const resources = config(namespace('shop', { 'istio.io/use-waypoint': 'ghost' }), service());
  const model = buildModel(resources);
  const rendered = computeAddresses(model, DEFAULT_ADDRESS_OPTIONS);
  const svc = rendered.get(SVC);
  t.equal(svc?.type.case === 'service' ? svc.type.value.waypoint : 'absent', undefined);
  t.strictSame(model.issues, [
    {
      code: 'WaypointNotFound',
      object: { type: 'Namespace', namespace: '', name: 'shop' },
      waypoint: { namespace: 'shop', name: 'ghost' },
    },
  ]);
});

t.test('a waypoint’s own pods never use a waypoint', async (t) => {
  const rendered = render(
    namespace('shop', { 'istio.io/use-waypoint': 'waypoint' }),
    waypoint('waypoint', 'shop', 'all'),
    pod({
      ip: '10.0.0.9',
      name: 'waypoint-7f9',
      labels: { 'gateway.networking.k8s.io/gateway-name': 'waypoint' },
    }),
  );
  t.equal(workloadOf(rendered, 'Kubernetes//Pod/shop/waypoint-7f9')?.waypoint, undefined);
});

t.test('a ServiceEntry yields a Service per host and a Workload per endpoint', async (t) => {
  const rendered = render(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: payments
  namespace: shop
spec:
  hosts: [payments.example.com]
  addresses: [240.0.0.1, 240.0.1.0/24]
  ports: [{ number: 443, name: https, protocol: TLS }]
  resolution: STATIC
  endpoints:
    - address: 192.0.2.4
      labels: { app: payments }
      weight: 3`);
  t.strictSame(rendered['shop/payments.example.com'], {
    service: {
      name: 'payments',
      namespace: 'shop',
      hostname: 'payments.example.com',
      addresses: [{ address: b64(240, 0, 0, 1) }, { address: b64(240, 0, 1, 0), length: 24 }],
      ports: [{ servicePort: 443, targetPort: 443, appProtocol: 'TLS' }],
      canonical: true,
    },
  });
  const uid = 'Kubernetes/networking.istio.io/ServiceEntry/shop/payments/192.0.2.4';
  t.strictSame(rendered[uid], {
    workload: {
      uid,
      name: 'payments',
      namespace: 'shop',
      addresses: [b64(192, 0, 2, 4)],
      canonicalName: 'payments',
      canonicalRevision: 'latest',
      workloadType: 'POD',
      workloadName: 'payments',
      services: {
        'shop/payments.example.com': { ports: [{ servicePort: 443, targetPort: 443 }] },
      },
      clusterId: 'Kubernetes',
      capacity: 3,
    },
  });
});

t.test('a DNS ServiceEntry without endpoints resolves each host at the client', async (t) => {
  const rendered = render(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: search
  namespace: shop
spec:
  hosts: [search.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: DNS`);
  const uid = 'Kubernetes/networking.istio.io/ServiceEntry/shop/search/search.example.com';
  t.equal(workloadOf(rendered, uid)?.hostname, 'search.example.com');
  t.equal(workloadOf(rendered, uid)?.addresses, undefined);
});

t.test('a ServiceEntry with resolution NONE passes traffic through', async (t) => {
  const rendered = render(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: legacy
  namespace: shop
spec:
  hosts: [legacy.internal]
  addresses: [10.20.0.0/16]
  ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
  location: MESH_INTERNAL`);
  t.strictSame(serviceOf(rendered, 'shop/legacy.internal')?.loadBalancing, {
    mode: 'PASSTHROUGH',
    healthPolicy: 'ALLOW_ALL',
  });
});

const ZONE_FIRST = ['NETWORK', 'REGION', 'ZONE'];

t.test('trafficDistribution PreferClose prefers the closest zone and fails over', async (t) => {
  const rendered = render(serviceWith('trafficDistribution: PreferClose'));
  t.strictSame(serviceOf(rendered)?.loadBalancing, {
    routingPreference: ZONE_FIRST,
    mode: 'FAILOVER',
  });
  const sameNode = render(serviceWith('trafficDistribution: PreferSameNode'));
  t.strictSame(serviceOf(sameNode)?.loadBalancing, {
    routingPreference: [...ZONE_FIRST, 'SUBZONE', 'NODE'],
    mode: 'FAILOVER',
  });
});

t.test(
  'the trafficDistribution field wins over the traffic-distribution annotations',
  async (t) => {
    const annotation = 'networking.istio.io/traffic-distribution';
    const rendered = render(
      `apiVersion: v1
kind: Namespace
metadata: { name: shop, annotations: { ${annotation}: PreferClose } }`,
      serviceWith('trafficDistribution: PreferSameNode', { [annotation]: 'PreferClose' }),
    );
    t.strictSame(serviceOf(rendered)?.loadBalancing, {
      routingPreference: [...ZONE_FIRST, 'SUBZONE', 'NODE'],
      mode: 'FAILOVER',
    });
    const byAnnotation = render(serviceWith('ports: []', { [annotation]: 'prefersamenode' }));
    t.strictSame(serviceOf(byAnnotation)?.loadBalancing, {
      routingPreference: [...ZONE_FIRST, 'SUBZONE', 'NODE'],
      mode: 'FAILOVER',
    });
  },
);

t.test(
  'internalTrafficPolicy Local keeps traffic on the node, whatever the distribution',
  async (t) => {
    const rendered = render(
      serviceWith(`internalTrafficPolicy: Local
  trafficDistribution: PreferClose`),
    );
    t.strictSame(serviceOf(rendered)?.loadBalancing, {
      routingPreference: ['NODE'],
      mode: 'STRICT',
    });
    const cluster = render(serviceWith('internalTrafficPolicy: Cluster'));
    t.equal(serviceOf(cluster)?.loadBalancing, undefined, 'Cluster is the default: no preference');
  },
);

t.test('publishNotReadyAddresses lets clients use endpoints that are not ready', async (t) => {
  const rendered = render(
    pod({ ip: '10.0.0.1', ready: false }),
    serviceWith('publishNotReadyAddresses: true'),
  );
  t.strictSame(serviceOf(rendered)?.loadBalancing, { healthPolicy: 'ALLOW_ALL' });
  // The pod itself stays unhealthy, as in Istio: only this service relaxes the health policy.
  t.equal(workloadOf(rendered)?.status, 'UNHEALTHY');
  t.strictSame(Object.keys(workloadOf(rendered)?.services ?? {}), [SVC]);
  const withLocality = render(
    serviceWith(`publishNotReadyAddresses: true
  internalTrafficPolicy: Local`),
  );
  t.strictSame(serviceOf(withLocality)?.loadBalancing, {
    routingPreference: ['NODE'],
    mode: 'STRICT',
    healthPolicy: 'ALLOW_ALL',
  });
  const zone = render(
    serviceWith(`publishNotReadyAddresses: true
  trafficDistribution: PreferClose`),
  );
  t.strictSame(serviceOf(zone)?.loadBalancing, {
    routingPreference: ZONE_FIRST,
    mode: 'FAILOVER',
    healthPolicy: 'ALLOW_ALL',
  });
});

t.test('a WorkloadEntry selected by a service maps its named target port', async (t) => {
  const rendered = render(
    service(),
    `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: vm-1
  namespace: shop
  labels: { app: reviews }
spec:
  address: 10.1.0.5
  serviceAccount: reviews-vm
  ports: { http-web: 8080 }`,
  );
  const uid = 'Kubernetes/networking.istio.io/WorkloadEntry/shop/vm-1';
  t.strictSame(rendered[uid], {
    workload: {
      uid,
      name: 'vm-1',
      namespace: 'shop',
      addresses: [b64(10, 1, 0, 5)],
      serviceAccount: 'reviews-vm',
      canonicalName: 'reviews',
      canonicalRevision: 'latest',
      workloadType: 'POD',
      workloadName: 'vm-1',
      services: {
        [SVC]: {
          ports: [
            { servicePort: 9080, targetPort: 8080 },
            { servicePort: 7070, targetPort: 7070 },
          ],
        },
      },
      clusterId: 'Kubernetes',
    },
  });
});

t.test('a ServiceEntry selecting pods adds its host to their services', async (t) => {
  const rendered = render(
    pod({ ip: '10.0.0.1' }),
    `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: reviews-alias
  namespace: shop
spec:
  hosts: [reviews.example.com]
  ports: [{ number: 80, name: http-web, protocol: HTTP, targetPort: 8000 }]
  resolution: STATIC
  workloadSelector: { labels: { app: reviews } }`,
  );
  t.strictSame(workloadOf(rendered)?.services, {
    // The pod's container port named like the ServiceEntry port wins over targetPort.
    'shop/reviews.example.com': { ports: [{ servicePort: 80, targetPort: 9080 }] },
  });
});

t.test('selector policies are listed on the workloads they select', async (t) => {
  const rendered = render(
    pod({ ip: '10.0.0.1' }),
    `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata:
  name: reviews-viewers
  namespace: shop
spec:
  selector: { matchLabels: { app: reviews } }
  action: ALLOW
  rules: [{ from: [{ source: { namespaces: [shop] } }] }]`,
  );
  t.strictSame(workloadOf(rendered)?.authorizationPolicies, ['shop/reviews-viewers']);
});

t.test('a trust domain other than cluster.local is written on each workload', async (t) => {
  const model = buildModel(config(pod({ ip: '10.0.0.1' })));
  const addresses = computeAddresses(model, {
    ...DEFAULT_ADDRESS_OPTIONS,
    trustDomain: 'corp.example',
  });
  const address = addresses.get(POD);
  t.equal(
    address?.type.case === 'workload' ? address.type.value.trustDomain : undefined,
    'corp.example',
  );
});
