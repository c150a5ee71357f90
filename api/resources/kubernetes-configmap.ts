/**
 * ConfigMap (core/v1). The mesh reads one: `istio` in the root namespace, whose `mesh` key is
 * Istio's MeshConfig (api/mesh/config.ts); that key is checked when the object is loaded, so
 * a broken MeshConfig is rejected alone and the last good one keeps serving.
 */
import { MESH_CONFIG_KEY, MESH_CONFIG_MAP, parseMeshConfig } from '../mesh/config.js';
import { joinPath, s } from '../schema/index.js';
import type { Infer, Issue } from '../schema/index.js';
import type { ObjectMeta, ResourceDefinition } from './types.js';

export const configMapData = s.map(s.string());
export type ConfigMapData = Infer<typeof configMapData>;

function checkMeshConfig(metadata: ObjectMeta, data: unknown): Issue[] {
  const mesh = (data as ConfigMapData)[MESH_CONFIG_KEY];
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
  spec: configMapData,
  specField: 'data',
  check: checkMeshConfig,
  shortNames: ['cm'],
};
