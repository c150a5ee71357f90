import t from 'tap';
import { encodeMeshConfig } from './codec.js';
import { DEFAULT_MESH_CONFIG } from './config.js';
import { MESH_CONFIG_TYPE_URL, packResource } from '../xds/type-urls.js';
import { create } from '@bufbuild/protobuf';
import { MeshConfigSchema } from '../gen/ambit/mesh/v1/mesh_pb.js';
import { PushedMeshConfig } from './pushed.js';

const push = (resource: ReturnType<typeof encodeMeshConfig>) => ({
  upserts: new Map([['mesh', { version: 'v1', resource }]]),
  removals: [],
});

t.test('Istio defaults until the control plane pushes a MeshConfig', async (t) => {
  const settings = new PushedMeshConfig();
  t.equal(settings.config, DEFAULT_MESH_CONFIG);
  t.equal(settings.config.outboundTrafficPolicy.mode, 'ALLOW_ANY');
});

t.test('a push replaces the settings; removing the resource restores the defaults', async (t) => {
  const settings = new PushedMeshConfig();
  settings.apply(push(encodeMeshConfig({ outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } })));
  t.equal(settings.config.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
  settings.apply({ upserts: new Map(), removals: ['mesh'] });
  t.equal(settings.config.outboundTrafficPolicy.mode, 'ALLOW_ANY');
});

t.test('a MeshConfig that does not check is refused and the settings in force stay', async (t) => {
  const settings = new PushedMeshConfig();
  settings.apply(push(encodeMeshConfig({ outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } })));
  const bad = packResource(
    MESH_CONFIG_TYPE_URL,
    create(MeshConfigSchema, { configJson: '{"outboundTrafficPolicy":{"mode":"DENY_ALL"}}' }),
  );
  t.throws(() => settings.apply(push(bad)), { code: 'AMBIT_MESH_CONFIG_INVALID' });
  t.equal(settings.config.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
});
