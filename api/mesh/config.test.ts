import t from 'tap';
import { parseResources } from '../resources/load.js';
import { decodeMeshConfig, encodeMeshConfig, MeshConfigInvalidError } from './codec.js';
import { DEFAULT_MESH_CONFIG, parseMeshConfig } from './config.js';
import { packResource, MESH_CONFIG_TYPE_URL } from '../xds/type-urls.js';
import { create } from '@bufbuild/protobuf';
import { MeshConfigSchema } from '../gen/ambit/mesh/v1/mesh_pb.js';

t.test('an empty MeshConfig is Istio defaults, with secure path normalization', async (t) => {
  const parsed = parseMeshConfig('');
  t.ok(parsed.ok);
  if (parsed.ok) t.same(parsed.value, DEFAULT_MESH_CONFIG);
  t.equal(DEFAULT_MESH_CONFIG.pathNormalization, 'DECODE_AND_MERGE_SLASHES');
  t.equal(DEFAULT_MESH_CONFIG.outboundTrafficPolicy.mode, 'ALLOW_ANY');
});

t.test('the fields Ambit reads are resolved; the others Istio has are ignored', async (t) => {
  const parsed = parseMeshConfig(`
outboundTrafficPolicy: { mode: REGISTRY_ONLY }
enableAutoMtls: true
accessLogFile: /dev/stdout
defaultConfig:
  holdApplicationUntilProxyStarts: true
  tracing: { sampling: 100 }
extensionProviders:
- name: otel
  opentelemetry: { service: otel.observability.svc.cluster.local, port: 4318, http: { path: /v1/traces } }
defaultProviders: { tracing: [otel] }
pathNormalization: { normalization: BASE }
`);
  t.ok(parsed.ok, JSON.stringify(parsed));
  if (!parsed.ok) return;
  t.equal(parsed.value.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
  t.equal(parsed.value.accessLogFile, '/dev/stdout');
  t.equal(parsed.value.tracingSampling, 100);
  t.equal(parsed.value.pathNormalization, 'BASE');
  t.same(parsed.value.defaultProviders.tracing, ['otel']);
  t.equal(parsed.value.extensionProviders[0]?.opentelemetry?.port, 4318);
});

t.test('mistakes are named by path', async (t) => {
  const bad = parseMeshConfig(`
outboundTrafficPolicy: { mode: ALLOW_SOME }
extensionProviders:
- name: z
  zipkin: { service: zipkin, port: 9411 }
  opentelemetry: { service: otel, port: 4318 }
`);
  t.notOk(bad.ok);
  if (bad.ok) return;
  const paths = bad.issues.map((i) => i.path);
  t.ok(paths.includes('outboundTrafficPolicy.mode'));
  t.ok(paths.includes('extensionProviders[0]'));
  const unknown = parseMeshConfig('defaultProviders: { tracing: [missing] }');
  t.notOk(unknown.ok);
  if (!unknown.ok) t.equal(unknown.issues[0]?.path, 'defaultProviders.tracing[0]');
  const yaml = parseMeshConfig('a: [');
  t.notOk(yaml.ok);
});

t.test('the istio ConfigMap is checked on load; other ConfigMaps are not', async (t) => {
  const result = parseResources(
    `apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    outboundTrafficPolicy: { mode: NOPE }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: other, namespace: istio-system }
data:
  mesh: "outboundTrafficPolicy: { mode: NOPE }"
`,
    'mesh.yaml',
  );
  t.equal(result.resources.length, 1, 'the other ConfigMap loads');
  t.equal(result.resources[0]?.metadata.name, 'other');
  t.equal(result.errors.length, 1);
  t.match(
    result.errors[0]?.message,
    /ConfigMap istio-system\/istio: data\.mesh\.outboundTrafficPolicy\.mode/,
  );
});

t.test('the wire form round-trips and is checked on decode', async (t) => {
  const parsed = parseMeshConfig('outboundTrafficPolicy: { mode: REGISTRY_ONLY }');
  t.ok(parsed.ok);
  if (!parsed.ok) return;
  t.same(decodeMeshConfig(encodeMeshConfig(parsed.spec)), parsed.value);
  const bad = packResource(
    MESH_CONFIG_TYPE_URL,
    create(MeshConfigSchema, { configJson: '{"outboundTrafficPolicy":{"mode":"X"}}' }),
  );
  t.throws(() => decodeMeshConfig(bad), MeshConfigInvalidError);
});
