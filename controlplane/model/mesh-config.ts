import type { AnyResource, ConfigMapResource } from '../../api/resources/index.js';
import {
  DEFAULT_MESH_CONFIG,
  MESH_CONFIG_KEY,
  MESH_CONFIG_MAP,
  parseMeshConfig,
  type MeshConfig,
  type MeshConfigSpec,
} from '../../api/mesh/config.js';

/** The mesh-wide settings in force, as written (for the wire) and resolved (for decisions). */
export interface MeshSettings {
  readonly spec: MeshConfigSpec;
  readonly config: MeshConfig;
}

/**
 * Istio's MeshConfig from the `istio` ConfigMap's `mesh` key in the root namespace; Istio's
 * defaults when there is none. The loader already refused a ConfigMap whose MeshConfig does
 * not check (api/resources/kubernetes-configmap.ts), so the last good one is what is here.
 */
export function meshSettings(
  resources: readonly AnyResource[],
  rootNamespace: string,
): MeshSettings {
  const map = resources.find(
    (r): r is ConfigMapResource =>
      r.type === 'ConfigMap' &&
      r.metadata.name === MESH_CONFIG_MAP &&
      r.metadata.namespace === rootNamespace,
  );
  const text = map?.spec.data?.[MESH_CONFIG_KEY];
  const parsed = text === undefined ? undefined : parseMeshConfig(text);
  return parsed?.ok
    ? { spec: parsed.spec, config: parsed.value }
    : { spec: {}, config: DEFAULT_MESH_CONFIG };
}
