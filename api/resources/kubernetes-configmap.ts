/**
 * ConfigMap (core/v1). The mesh reads one: `istio` in the root namespace, whose `mesh` key is
 * Istio's MeshConfig (api/mesh/config.ts); that key is checked when the object is loaded, so
 * a broken MeshConfig is rejected alone and the last good one keeps serving.
 */
import { MESH_CONFIG_KEY, MESH_CONFIG_MAP, parseMeshConfig } from '../mesh/config.js';
import { joinPath, s } from '../schema/index.js';
import type { Infer, Issue } from '../schema/index.js';
import type { ObjectMeta, ResourceDefinition } from './types.js';

/** A ConfigMap's top-level `data`, held as its resource's `spec` (binary data is not read). */
export const configMapSpec = s.object(
  { data: s.map(s.string()).optional() },
  { unknownFields: 'ignore' },
);
export type ConfigMapSpec = Infer<typeof configMapSpec>;

function checkMeshConfig(metadata: ObjectMeta, spec: unknown): Issue[] {
  const mesh = (spec as ConfigMapSpec).data?.[MESH_CONFIG_KEY];
  if (metadata.name !== MESH_CONFIG_MAP || mesh === undefined) return [];
  const parsed = parseMeshConfig(mesh);
  const base = `data.${MESH_CONFIG_KEY}`;
  return parsed.ok ? [] : parsed.issues.map((i) => ({ ...i, path: joinPath(base, i.path) }));
}

export const configMapDefinition: ResourceDefinition = {
  type: 'ConfigMap',
  group: '',
  kind: 'ConfigMap',
  versions: ['v1'],
  plural: 'configmaps',
  namespaced: true,
  spec: configMapSpec,
  specFields: ['data'],
  check: checkMeshConfig,
  shortNames: ['cm'],
};
