import type { ResourceDelta } from '../../core/xds/client.js';
import { decodeMeshConfig, MESH_CONFIG_RESOURCE } from './codec.js';
import { DEFAULT_MESH_CONFIG, type MeshConfig } from './config.js';

/**
 * The mesh-wide settings (Istio's MeshConfig) as the control plane last pushed them, for
 * every proxy: read per new connection or request, so a push applies to the next one without
 * a restart, and what is open keeps what it was admitted with. Istio's defaults until a push
 * arrives or after the resource is removed.
 */
export class PushedMeshConfig {
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
