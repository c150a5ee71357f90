import { create, fromBinary } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import { decodeMeshConfig, MESH_CONFIG_RESOURCE } from '../../api/mesh/codec.js';
import t from 'tap';
import { AuthorizationSchema } from '../../api/gen/istio/security/authorization_pb.js';
import { AddressSchema } from '../../api/gen/istio/workload/workload_pb.js';
import { parseResources } from '../../api/resources/index.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  MESH_CONFIG_TYPE_URL,
  GATEWAY_PROXY_TYPE_URL,
  WAYPOINT_SERVICE_TYPE_URL,
} from '../../api/xds/type-urls.js';
import type { TypeUrl } from '../../api/xds/type-urls.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { AmbientIndex } from './index.js';
import type { ResourceMap } from './index.js';

function config(...documents: string[]) {
  const { resources, errors } = parseResources(documents.join('\n---\n'), 'test.yaml');
  if (errors.length > 0) throw new Error(errors.map((e) => e.message).join('\n'));
  return resources;
}

function pod(ip: string): string {
  return `apiVersion: v1
kind: Pod
metadata: { name: reviews, namespace: shop, labels: { app: reviews } }
spec: { containers: [{ name: app }] }
status: { phase: Running, podIP: ${ip} }`;
}

const policy = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-other, namespace: shop }
spec:
  action: DENY
  rules: [{ from: [{ source: { notNamespaces: [shop] } }] }]`;

function record(index: AmbientIndex) {
  const pushes: Array<[TypeUrl, ResourceMap]> = [];
  index.subscribe((typeUrl, resources) => pushes.push([typeUrl, resources]));
  return pushes;
}

t.test('the first update publishes every type, even when empty', async (t) => {
  const index = new AmbientIndex({ logger: silentLogger() });
  const pushes = record(index);
  index.updateFromResources([]);
  t.same(
    pushes.map(([typeUrl, resources]) => [typeUrl, resources.size]),
    [
      [ADDRESS_TYPE_URL, 0],
      [AUTHORIZATION_TYPE_URL, 0],
      [WAYPOINT_SERVICE_TYPE_URL, 0],
      // The mesh config is always one resource: Istio's defaults when none is written.
      [MESH_CONFIG_TYPE_URL, 1],
      [GATEWAY_PROXY_TYPE_URL, 0],
    ],
  );
});

t.test('the root namespace istio ConfigMap is served as the mesh config', async (t) => {
  const index = new AmbientIndex({ logger: silentLogger(), rootNamespace: 'mesh-root' });
  const pushes = record(index);
  const map = (namespace: string, mode: string) => `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: ${namespace} }
data:
  mesh: "outboundTrafficPolicy: { mode: ${mode} }"
`;
  index.updateFromResources(parseResources(map('istio-system', 'REGISTRY_ONLY')).resources);
  t.equal(index.model()?.mesh.config.outboundTrafficPolicy.mode, 'ALLOW_ANY', 'not the root');
  index.updateFromResources(parseResources(map('mesh-root', 'REGISTRY_ONLY')).resources);
  t.equal(index.model()?.mesh.config.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
  const [typeUrl, resources] = pushes.at(-1)!;
  t.equal(typeUrl, MESH_CONFIG_TYPE_URL, 'a change to it is pushed');
  const bytes = resources.get(MESH_CONFIG_RESOURCE)!;
  const decoded = decodeMeshConfig(create(AnySchema, { typeUrl, value: bytes }));
  t.equal(decoded.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
});

t.test('published bytes decode to the messages the index exposes', async (t) => {
  const index = new AmbientIndex({ logger: silentLogger(), clusterId: 'east' });
  const pushes = record(index);
  index.updateFromResources(config(pod('10.0.0.1'), policy));
  const addresses = pushes.find(([typeUrl]) => typeUrl === ADDRESS_TYPE_URL)?.[1];
  const bytes = addresses?.get('east//Pod/shop/reviews');
  t.ok(bytes, 'the workload is named by its uid, with the configured cluster id');
  const decoded = fromBinary(AddressSchema, bytes ?? new Uint8Array());
  t.same(decoded, index.addresses().get('east//Pod/shop/reviews'));
  const authorizations = pushes.find(([typeUrl]) => typeUrl === AUTHORIZATION_TYPE_URL)?.[1];
  const policyBytes = authorizations?.get('shop/deny-other');
  t.ok(policyBytes, 'the policy is named namespace/name');
  t.equal(fromBinary(AuthorizationSchema, policyBytes ?? new Uint8Array()).name, 'deny-other');
  t.same([...index.authorizations().keys()], ['shop/deny-other']);
  t.equal(index.resources(ADDRESS_TYPE_URL), addresses);
});

t.test('only the types whose resources changed are published again', async (t) => {
  const index = new AmbientIndex({ logger: silentLogger() });
  index.updateFromResources(config(pod('10.0.0.1'), policy));
  const pushes = record(index);
  index.updateFromResources(config(pod('10.0.0.1'), policy));
  t.same(pushes, [], 'nothing changed, nothing published');
  index.updateFromResources(config(pod('10.0.0.2'), policy));
  t.same(
    pushes.map(([typeUrl]) => typeUrl),
    [ADDRESS_TYPE_URL],
  );
});

t.test('a listener that throws does not stop the others', async (t) => {
  const index = new AmbientIndex({ logger: silentLogger() });
  index.subscribe(() => {
    throw new Error('listener bug');
  });
  const pushes = record(index);
  index.updateFromResources([]);
  t.equal(pushes.length, 5);
});
