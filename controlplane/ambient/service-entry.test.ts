import { toJson } from '@bufbuild/protobuf';
import t from 'tap';
import { AddressSchema } from '../../api/gen/istio/workload/workload_pb.js';
import { parseResources } from '../../api/resources/index.js';
import { buildModel } from '../model/mesh-model.js';
import { DEFAULT_ADDRESS_OPTIONS } from './address-options.js';
import { computeAddresses } from './addresses.js';

// ServiceEntry and WorkloadEntry in the ambient index, case by case, as Istio's ambient index
// builds them (serviceEntryServiceBuilder, serviceEntryWorkloadBuilder,
// workloadEntryWorkloadBuilder).

type Json = Record<string, unknown>;

function render(...documents: string[]): Record<string, Json> {
  const { resources, errors } = parseResources(documents.join('\n---\n'), 'test.yaml');
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  const addresses = computeAddresses(buildModel(resources), DEFAULT_ADDRESS_OPTIONS);
  return Object.fromEntries(
    [...addresses].map(([name, address]) => [name, toJson(AddressSchema, address) as Json]),
  );
}

const workloadOf = (rendered: Record<string, Json>, uid: string) =>
  rendered[uid]?.workload as Json | undefined;
const serviceOf = (rendered: Record<string, Json>, name: string) =>
  rendered[name]?.service as Json | undefined;

const SE_UID = 'Kubernetes/networking.istio.io/ServiceEntry';
const WE_UID = 'Kubernetes/networking.istio.io/WorkloadEntry';

function entry(spec: string, metadata = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: api
  namespace: egress
${metadata}
spec:
${spec}`;
}

function workloadEntry(name: string, namespace: string, spec: string): string {
  return `apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: ${name}, namespace: ${namespace} }
spec:
${spec}`;
}

t.test('DNS endpoints are host names with their own ports, network and weight', async (t) => {
  const rendered = render(
    entry(`  hosts: [api.example.com]
  addresses: [240.240.0.1]
  ports: [{ number: 443, name: https, protocol: TLS }]
  location: MESH_EXTERNAL
  resolution: DNS
  endpoints:
  - { address: eu.api.example.com, ports: { https: 8443 }, network: net-2, weight: 2, labels: { region: eu } }`),
  );
  const uid = `${SE_UID}/egress/api/eu.api.example.com`;
  const workload = workloadOf(rendered, uid);
  t.equal(workload?.hostname, 'eu.api.example.com', 'resolved by the client, not the index');
  t.equal(workload?.addresses, undefined);
  t.equal(workload?.network, 'net-2');
  t.equal(workload?.capacity, 2);
  t.strictSame(workload?.services, {
    'egress/api.example.com': { ports: [{ servicePort: 443, targetPort: 8443 }] },
  });
  t.equal(workload?.tunnelProtocol, undefined, 'MESH_EXTERNAL endpoints are plain TCP (NONE)');
});

t.test('a unix socket endpoint yields no workload', async (t) => {
  const rendered = render(
    entry(`  hosts: [local.example.com]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  resolution: STATIC
  endpoints: [{ address: "unix:///var/run/app.sock" }, { address: 192.0.2.9 }]`),
  );
  const workloads = Object.keys(rendered).filter((k) => k.startsWith(SE_UID));
  t.strictSame(workloads, [`${SE_UID}/egress/api/192.0.2.9`]);
});

t.test('CIDR addresses are VIP blocks, with their prefix length', async (t) => {
  const rendered = render(
    entry(`  hosts: [corp.internal]
  addresses: [10.20.0.0/16, 2001:db8::/32]
  ports: [{ number: 5432, name: tcp-pg, protocol: TCP }]
  location: MESH_INTERNAL
  resolution: NONE`),
  );
  const addresses = serviceOf(rendered, 'egress/corp.internal')?.addresses as Json[];
  t.strictSame(
    addresses.map((a) => a.length),
    [16, 32],
  );
});

t.test('hosts without addresses are services without VIPs, one per host', async (t) => {
  const rendered = render(
    entry(`  hosts: [a.example.com, b.example.com]
  ports: [{ number: 443, name: https, protocol: TLS, targetPort: 8443 }]
  resolution: DNS`),
  );
  for (const host of ['a.example.com', 'b.example.com']) {
    const service = serviceOf(rendered, `egress/${host}`);
    t.equal(service?.addresses, undefined, `${host} has no VIP`);
    t.strictSame(service?.ports, [{ servicePort: 443, targetPort: 8443, appProtocol: 'TLS' }]);
    t.equal(workloadOf(rendered, `${SE_UID}/egress/api/${host}`)?.hostname, host);
  }
});

t.test('a workloadSelector selects WorkloadEntries of its own namespace only', async (t) => {
  const rendered = render(
    entry(`  hosts: [vm.example.com]
  addresses: [240.240.0.2]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  location: MESH_INTERNAL
  resolution: STATIC
  workloadSelector: { labels: { app: vm } }`),
    workloadEntry(
      'vm-1',
      'egress',
      `  address: 192.0.2.10
  labels: { app: vm }
  serviceAccount: vm-sa
  network: vm-net
  ports: { http: 8080 }`,
    ),
    workloadEntry('vm-2', 'other', `  address: 192.0.2.11\n  labels: { app: vm }`),
  );
  const vm1 = workloadOf(rendered, `${WE_UID}/egress/vm-1`);
  t.strictSame(vm1?.services, {
    'egress/vm.example.com': { ports: [{ servicePort: 80, targetPort: 8080 }] },
  });
  t.equal(vm1?.serviceAccount, 'vm-sa', 'its identity is ns/egress/sa/vm-sa');
  t.equal(vm1?.network, 'vm-net');
  t.equal(workloadOf(rendered, `${WE_UID}/other/vm-2`)?.services, undefined);
});

t.test('a WorkloadEntry may name a host for clients to resolve', async (t) => {
  const rendered = render(workloadEntry('db', 'egress', '  address: db.corp.example'));
  t.equal(workloadOf(rendered, `${WE_UID}/egress/db`)?.hostname, 'db.corp.example');
});

t.test('a ServiceEntry labelled use-waypoint sends its clients to the waypoint', async (t) => {
  const rendered = render(
    `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: waypoint, namespace: egress }
spec:
  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]`,
    entry(
      `  hosts: [api.example.com]
  addresses: [240.240.0.3]
  ports: [{ number: 80, name: http, protocol: HTTP }]
  location: MESH_EXTERNAL
  resolution: STATIC
  endpoints: [{ address: 192.0.2.12 }]`,
      '  labels: { istio.io/use-waypoint: waypoint }',
    ),
  );
  const waypoint = serviceOf(rendered, 'egress/api.example.com')?.waypoint as Json | undefined;
  t.strictSame(waypoint?.hostname, {
    namespace: 'egress',
    hostname: 'waypoint.egress.svc.cluster.local',
  });
  t.equal(
    workloadOf(rendered, `${SE_UID}/egress/api/192.0.2.12`)?.waypoint,
    undefined,
    'the endpoint itself is not behind the waypoint',
  );
});
