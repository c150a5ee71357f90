import { decodeMeshConfig, MESH_CONFIG_RESOURCE } from '../../api/mesh/codec.js';
import { DEFAULT_MESH_CONFIG, type MeshConfig } from '../../api/mesh/config.js';
import type { ResourceDelta } from '../../core/xds/client.js';

/**
 * The mesh-wide settings (Istio's MeshConfig) as the control plane last pushed them, read
 * per new connection so a push applies to the next connection without a restart; open
 * connections keep what they were admitted with. Istio's defaults until a push arrives or
 * after the resource is removed.
 */
export class MeshSettings {
  #config: MeshConfig = DEFAULT_MESH_CONFIG;

  get config(): MeshConfig {
    return this.#config;
  }

  /**
   * Applies a delta of `ambit.mesh.v1.MeshConfig`. A resource that does not decode throws
   * (the xDS client NACKs it) and the settings in force stay.
   */
  apply(delta: ResourceDelta): void {
    const update = delta.upserts.get(MESH_CONFIG_RESOURCE);
    if (update !== undefined) this.#config = decodeMeshConfig(update.resource);
    else if (delta.removals.includes(MESH_CONFIG_RESOURCE)) this.#config = DEFAULT_MESH_CONFIG;
  }
}
