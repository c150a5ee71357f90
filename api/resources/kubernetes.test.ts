import t from 'tap';
import type { PodSpec, PodStatus, ServiceSpec } from './kubernetes.js';
import { validateResource } from './load.js';

type Problem = [path: string, reason: string];

function pod(spec: unknown, status?: unknown) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'reviews-v1-abc', namespace: 'bookinfo', labels: { app: 'reviews' } },
    spec,
    ...(status !== undefined && { status }),
  };
}

function service(spec: unknown) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'reviews', namespace: 'bookinfo' },
    spec,
  };
}

function problems(doc: unknown): Problem[] {
  return validateResource(doc).errors.map((e) => [e.path, e.reason]);
}

function parsed(doc: unknown) {
  const { resource, errors } = validateResource(doc);
  if (resource === undefined) throw new Error(errors.map((e) => e.message).join('\n'));
  return resource;
}

const app = { name: 'reviews', image: 'docker.io/istio/examples-bookinfo-reviews-v1:1.20' };
/** A pod with one container carrying `ports`. */
const withPorts = (...ports: object[]) => pod({ containers: [{ ...app, ports }] });

// ---- Namespace and ServiceAccount ----

t.test('a Namespace needs no spec and keeps its enrollment labels', async (t) => {
  const ns = parsed({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'bookinfo', labels: { 'istio.io/dataplane-mode': 'ambient' } },
    status: { phase: 'Active' },
  });
  t.equal(ns.type, 'Namespace');
  t.same(ns.metadata, { name: 'bookinfo', labels: { 'istio.io/dataplane-mode': 'ambient' } });
  t.same(problems({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'Bookinfo' } }), [
    ['metadata.name', 'must be a DNS-1123 label'],
  ]);
});

t.test('a ServiceAccount is read with the fields Kubernetes adds to it', async (t) => {
  const sa = {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: { name: 'bookinfo-reviews', namespace: 'bookinfo' },
  };
  t.same(
    problems({ ...sa, secrets: [{ name: 'token' }], automountServiceAccountToken: false }),
    [],
  );
  t.equal(parsed(sa).type, 'ServiceAccount');
});

// ---- Metadata ----

const replicaSet = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  name: 'reviews-v1-7d4f8b9c6d',
  uid: '5f3c1a2e-0b7d-4e8a-9c1f-2d6e8a4b7c90',
};

/** A pod with these metadata fields beside its name and namespace. */
function podMeta(fields: object) {
  const doc = pod({ containers: [app] });
  return { ...doc, metadata: { ...doc.metadata, ...fields } };
}

t.test('metadata keeps who owns an object and whether it is being deleted', async (t) => {
  const resource = parsed(
    podMeta({
      generateName: 'reviews-v1-7d4f8b9c6d-',
      ownerReferences: [{ ...replicaSet, controller: true, blockOwnerDeletion: true }],
      deletionTimestamp: '2024-06-01T12:00:00Z',
      deletionGracePeriodSeconds: 30,
      finalizers: ['example.com/cleanup'],
      managedFields: [{ manager: 'kube-controller-manager', operation: 'Update' }],
    }),
  );
  t.strictSame(resource.metadata, {
    name: 'reviews-v1-abc',
    namespace: 'bookinfo',
    labels: { app: 'reviews' },
    generateName: 'reviews-v1-7d4f8b9c6d-',
    ownerReferences: [{ ...replicaSet, controller: true, blockOwnerDeletion: true }],
    deletionTimestamp: '2024-06-01T12:00:00Z',
  });
});

t.test('an owner reference names its owner fully and ignores other fields', async (t) => {
  t.strictSame(
    parsed(podMeta({ ownerReferences: [{ ...replicaSet, note: 'x' }] })).metadata.ownerReferences,
    [replicaSet],
  );
  t.same(problems(podMeta({ ownerReferences: [{ kind: 'ReplicaSet', name: '', uid: 'u' }] })), [
    ['metadata.ownerReferences[0].apiVersion', 'is required'],
    ['metadata.ownerReferences[0].name', 'must not be empty'],
  ]);
  t.same(problems(podMeta({ ownerReferences: [{ ...replicaSet, controller: 'yes' }] })), [
    ['metadata.ownerReferences[0].controller', 'must be a boolean'],
  ]);
});

t.test('at most one owner of an object is its controller', async (t) => {
  const job = { apiVersion: 'batch/v1', kind: 'Job', name: 'migrate', uid: 'u-2' };
  t.same(
    problems(podMeta({ ownerReferences: [{ ...replicaSet, controller: true }, job] })),
    [],
    'a second owner that is not the controller',
  );
  t.same(
    problems(
      podMeta({
        ownerReferences: [
          { ...replicaSet, controller: true },
          { ...job, controller: false },
          { ...job, controller: true },
        ],
      }),
    ),
    [
      [
        'metadata.ownerReferences[2].controller',
        'only one owner may be the controller; ReplicaSet reviews-v1-7d4f8b9c6d already is',
      ],
    ],
  );
});

// ---- Pod ----

t.test('a Pod keeps the fields the mesh reads and accepts every other field', async (t) => {
  const doc = pod(
    {
      nodeName: 'node-1',
      containers: [
        {
          ...app,
          ports: [{ name: 'http', containerPort: 9080 }],
          resources: { limits: { cpu: '1' } },
        },
      ],
      volumes: [{ name: 'tmp', emptyDir: {} }],
      terminationGracePeriodSeconds: 30,
    },
    {
      phase: 'Running',
      podIP: '10.244.1.5',
      podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00::5' }],
      hostIP: '172.18.0.2',
      qosClass: 'Burstable',
    },
  );
  const resource = parsed(doc);
  t.same(resource.spec as PodSpec, {
    nodeName: 'node-1',
    serviceAccountName: 'default',
    containers: [{ ...app, ports: [{ name: 'http', containerPort: 9080, protocol: 'TCP' }] }],
  });
  t.same(resource.status as PodStatus, {
    phase: 'Running',
    podIP: '10.244.1.5',
    podIPs: [{ ip: '10.244.1.5' }, { ip: 'fd00::5' }],
    hostIP: '172.18.0.2',
  });
});

t.test('a Pod runs as the default service account unless it names one', async (t) => {
  t.equal((parsed(pod({ containers: [app] })).spec as PodSpec).serviceAccountName, 'default');
  t.equal(
    (parsed(pod({ serviceAccountName: 'bookinfo-reviews', containers: [app] })).spec as PodSpec)
      .serviceAccountName,
    'bookinfo-reviews',
  );
  t.same(problems(pod({ serviceAccountName: 'Reviews', containers: [app] })), [
    ['spec.serviceAccountName', 'must be a DNS-1123 subdomain'],
  ]);
});

t.test('a Pod has at least one container, each named once', async (t) => {
  t.same(problems(pod({ containers: [] })), [['spec.containers', 'must not be empty']]);
  t.same(problems(pod({ hostNetwork: true })), [['spec.containers', 'is required']]);
  t.same(problems(pod({ containers: [app, { ...app, image: 'other' }] })), [
    ['spec.containers[1].name', 'duplicate container name reviews'],
  ]);
  t.same(problems(pod({ containers: [{ ...app, name: 'Reviews' }] })), [
    ['spec.containers[0].name', 'must be a DNS-1123 label'],
  ]);
});

t.test('init containers are kept with their restart policy and ports', async (t) => {
  const proxy = {
    name: 'proxy',
    image: 'proxy:1',
    restartPolicy: 'Always',
    ports: [{ name: 'http-proxy', containerPort: 15001 }],
  };
  const setup = { name: 'setup', image: 'busybox', command: ['true'] };
  const spec = parsed(pod({ initContainers: [setup, proxy], containers: [app] })).spec as PodSpec;
  t.strictSame(spec.initContainers, [
    { name: 'setup', image: 'busybox' },
    { ...proxy, ports: [{ name: 'http-proxy', containerPort: 15001, protocol: 'TCP' }] },
  ]);
  t.same(
    problems(
      pod({ initContainers: [{ ...proxy, restartPolicy: 'Sometimes' }], containers: [app] }),
    ),
    [['spec.initContainers[0].restartPolicy', 'must be one of Always, OnFailure, Never']],
  );
  t.same(
    problems(
      pod({ initContainers: [{ ...proxy, ports: [{ containerPort: 0 }] }], containers: [app] }),
    ),
    [['spec.initContainers[0].ports[0].containerPort', 'must be between 1 and 65535']],
  );
});

t.test('container names are unique across containers and init containers', async (t) => {
  t.same(
    problems(pod({ initContainers: [{ name: 'setup' }, { name: 'setup' }], containers: [app] })),
    [['spec.initContainers[1].name', 'duplicate container name setup']],
  );
  t.same(problems(pod({ initContainers: [{ name: 'reviews' }], containers: [app] })), [
    ['spec.initContainers[0].name', 'duplicate container name reviews'],
  ]);
});

t.test('container ports are 1 to 65535', async (t) => {
  t.same(problems(withPorts({ containerPort: 1 }, { containerPort: 65535 })), []);
  t.same(problems(withPorts({ containerPort: 0 })), [
    ['spec.containers[0].ports[0].containerPort', 'must be between 1 and 65535'],
  ]);
  t.same(problems(withPorts({ containerPort: 65536 })), [
    ['spec.containers[0].ports[0].containerPort', 'must be between 1 and 65535'],
  ]);
  t.same(problems(withPorts({ name: 'http' })), [
    ['spec.containers[0].ports[0].containerPort', 'is required'],
  ]);
});

t.test('a host port is 0 (none) to 65535', async (t) => {
  t.same(problems(withPorts({ containerPort: 80, hostPort: 0 })), []);
  t.same(problems(withPorts({ containerPort: 80, hostPort: 70000 })), [
    ['spec.containers[0].ports[0].hostPort', 'must be between 0 and 65535'],
  ]);
});

t.test('container port protocols are TCP, UDP or SCTP, TCP by default', async (t) => {
  const spec = parsed(withPorts({ containerPort: 53, protocol: 'UDP' }, { containerPort: 80 }))
    .spec as PodSpec;
  t.same(
    spec.containers[0]?.ports?.map((p) => p.protocol),
    ['UDP', 'TCP'],
  );
  t.same(problems(withPorts({ containerPort: 80, protocol: 'HTTP' })), [
    ['spec.containers[0].ports[0].protocol', 'must be one of TCP, UDP, SCTP'],
  ]);
});

t.test('container port names are IANA service names, unique in the container', async (t) => {
  const named = (name: string) => problems(withPorts({ name, containerPort: 80 }));
  t.same(named('http-web'), []);
  t.same(named('http-web-server-1'), [
    ['spec.containers[0].ports[0].name', 'must be 1 to 15 characters long'],
  ]);
  t.same(named('HTTP'), [
    [
      'spec.containers[0].ports[0].name',
      'must contain only lowercase alphanumeric characters (a-z, 0-9) and hyphens (-)',
    ],
  ]);
  t.same(named('8080'), [
    ['spec.containers[0].ports[0].name', 'must contain at least one letter (a-z)'],
  ]);
  t.same(named('http--web'), [
    ['spec.containers[0].ports[0].name', 'must not contain consecutive hyphens'],
  ]);
  t.same(named('-http'), [
    ['spec.containers[0].ports[0].name', 'must not begin or end with a hyphen'],
  ]);
  t.same(
    problems(withPorts({ name: 'http', containerPort: 80 }, { name: 'http', containerPort: 8080 })),
    [['spec.containers[0].ports[1].name', 'duplicate port name http']],
  );
});

t.test('pod status addresses are IP addresses and the phase is a known one', async (t) => {
  t.same(
    problems(pod({ containers: [app] }, { podIP: 'fd00::1', hostIPs: [{ ip: '172.18.0.2' }] })),
    [],
  );
  t.same(problems(pod({ containers: [app] }, { podIP: '10.0.0' })), [
    ['status.podIP', 'must be an IP address'],
  ]);
  t.same(problems(pod({ containers: [app] }, { podIPs: [{ ip: 'pod-a' }] })), [
    ['status.podIPs[0].ip', 'must be an IP address'],
  ]);
  t.same(problems(pod({ containers: [app] }, { phase: 'Started' })), [
    ['status.phase', 'must be one of Pending, Running, Succeeded, Failed, Unknown'],
  ]);
  t.same(problems(pod({ containers: [app] }, { conditions: [{ type: 'Ready', status: 'Yes' }] })), [
    ['status.conditions[0].status', 'must be one of True, False, Unknown'],
  ]);
});

// ---- Service ----

const http = { name: 'http', port: 9080 };

t.test('a Service keeps selector and ports and accepts every other field', async (t) => {
  const spec = parsed(
    service({
      selector: { app: 'reviews' },
      ports: [{ ...http, targetPort: 'http-web', appProtocol: 'http' }],
      sessionAffinity: 'None',
    }),
  ).spec as ServiceSpec;
  t.same(spec, {
    selector: { app: 'reviews' },
    ports: [
      { name: 'http', protocol: 'TCP', appProtocol: 'http', port: 9080, targetPort: 'http-web' },
    ],
    type: 'ClusterIP',
  });
  t.same(problems(service({ selector: { 'bad key': 'x' } })), [
    ['spec.selector["bad key"]', 'must be a valid label key'],
  ]);
});

t.test('a Service keeps its traffic policies', async (t) => {
  const spec = parsed(
    service({
      selector: { app: 'reviews' },
      internalTrafficPolicy: 'Local',
      trafficDistribution: 'PreferClose',
      publishNotReadyAddresses: true,
    }),
  ).spec as ServiceSpec;
  t.strictSame(spec, {
    selector: { app: 'reviews' },
    type: 'ClusterIP',
    internalTrafficPolicy: 'Local',
    trafficDistribution: 'PreferClose',
    publishNotReadyAddresses: true,
  });
  t.same(problems(service({ internalTrafficPolicy: 'Node' })), [
    ['spec.internalTrafficPolicy', 'must be one of Cluster, Local'],
  ]);
  t.same(problems(service({ publishNotReadyAddresses: 'true' })), [
    ['spec.publishNotReadyAddresses', 'must be a boolean'],
  ]);
  t.same(problems(service({ trafficDistribution: 7 })), [
    ['spec.trafficDistribution', 'must be a string'],
  ]);
});

t.test('service ports are 1 to 65535', async (t) => {
  t.same(problems(service({ ports: [{ port: 65535 }] })), []);
  t.same(problems(service({ ports: [{ port: 0 }] })), [
    ['spec.ports[0].port', 'must be between 1 and 65535'],
  ]);
  t.same(problems(service({ ports: [{ name: 'http' }] })), [['spec.ports[0].port', 'is required']]);
  t.same(problems(service({ type: 'NodePort', ports: [{ port: 80, nodePort: 70000 }] })), [
    ['spec.ports[0].nodePort', 'must be between 1 and 65535'],
  ]);
});

t.test('a target port is a number from 1 to 65535 or a port name', async (t) => {
  const target = (targetPort: unknown) => problems(service({ ports: [{ port: 80, targetPort }] }));
  t.same(target(8080), []);
  t.same(target('http'), []);
  t.same(target(0), [['spec.ports[0].targetPort', 'must be between 1 and 65535']]);
  t.same(target(65536), [['spec.ports[0].targetPort', 'must be between 1 and 65535']]);
  t.same(target('8080'), [
    [
      'spec.ports[0].targetPort',
      'must be a port number or a port name: must contain at least one letter (a-z)',
    ],
  ]);
  t.same(target(1.5), [['spec.ports[0].targetPort', 'must be an integer or a string']]);
});

t.test('service port protocols are TCP, UDP or SCTP, TCP by default', async (t) => {
  t.same(problems(service({ ports: [{ port: 53, protocol: 'UDP' }] })), []);
  t.same(problems(service({ ports: [{ port: 80, protocol: 'HTTP' }] })), [
    ['spec.ports[0].protocol', 'must be one of TCP, UDP, SCTP'],
  ]);
});

t.test('a Service with several ports names each one, once', async (t) => {
  t.same(problems(service({ ports: [http, { name: 'grpc', port: 9090 }] })), []);
  t.same(problems(service({ ports: [http, { port: 9090 }] })), [
    ['spec.ports[1].name', 'is required when the service has more than one port'],
  ]);
  t.same(problems(service({ ports: [http, { ...http, port: 9090 }] })), [
    ['spec.ports[1].name', 'duplicate port name http'],
  ]);
  t.same(problems(service({ ports: [{ name: 'HTTP', port: 80 }] })), [
    ['spec.ports[0].name', 'must be a DNS-1123 label'],
  ]);
});

t.test('a Service exposes each port and protocol once', async (t) => {
  t.same(
    problems(
      service({
        ports: [
          { name: 'dns', port: 53 },
          { name: 'dns-udp', port: 53, protocol: 'UDP' },
        ],
      }),
    ),
    [],
  );
  t.same(problems(service({ ports: [http, { name: 'again', port: 9080 }] })), [
    ['spec.ports[1]', 'duplicate port 9080/TCP'],
  ]);
});

t.test('a node port needs a NodePort or LoadBalancer service', async (t) => {
  t.same(problems(service({ type: 'LoadBalancer', ports: [{ port: 80, nodePort: 30080 }] })), []);
  t.same(problems(service({ ports: [{ port: 80, nodePort: 30080 }] })), [
    ['spec.ports[0].nodePort', 'may not be used when type is ClusterIP'],
  ]);
});

t.test('a Service type is a known one; ExternalName needs an external name', async (t) => {
  t.same(problems(service({ type: 'ExternalName', externalName: 'db.example.com' })), []);
  t.same(problems(service({ type: 'ExternalName' })), [
    ['spec.externalName', 'is required when type is ExternalName'],
  ]);
  t.same(problems(service({ type: 'Headless' })), [
    ['spec.type', 'must be one of ClusterIP, NodePort, LoadBalancer, ExternalName'],
  ]);
});

t.test('cluster IPs are addresses or None, and clusterIPs starts with clusterIP', async (t) => {
  t.same(problems(service({ clusterIP: 'None' })), []);
  t.same(
    problems(
      service({
        clusterIP: '10.96.0.10',
        clusterIPs: ['10.96.0.10', 'fd00::10'],
        ipFamilies: ['IPv4', 'IPv6'],
      }),
    ),
    [],
  );
  t.same(problems(service({ clusterIP: 'auto' })), [
    ['spec.clusterIP', 'must be an IP address, "None" or empty'],
  ]);
  t.same(problems(service({ clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.11'] })), [
    ['spec.clusterIPs[0]', 'must match clusterIP'],
  ]);
});

t.test('IP families are IPv4 and IPv6, each at most once', async (t) => {
  t.same(problems(service({ ipFamilies: ['IPv6'] })), []);
  t.same(problems(service({ ipFamilies: ['IPv4', 'IPv4'] })), [
    ['spec.ipFamilies[1]', 'duplicate IP family IPv4'],
  ]);
  t.same(problems(service({ ipFamilies: ['ipv4'] })), [
    ['spec.ipFamilies[0]', 'must be one of IPv4, IPv6'],
  ]);
});
