/**
 * What `ambit x explain` reasons from: the resources the control plane serves on its Delta
 * ADS stream (Address and Authorization for node tunnels, WaypointService for waypoints),
 * exactly as a proxy receives them, plus the mesh model for the "why" of a decision (which
 * label enrolled a pod or bound a waypoint), which no proxy needs.
 *
 * `servedFromDirectory` computes them offline with the control plane's own source, model
 * and ambient index (as `ambit x render` does). A later version can fill the same structure
 * from a running control plane with core/xds/client.ts, subscribing to the three types; the
 * model would then come from its /debug/config.
 */
import { create } from '@bufbuild/protobuf';
import { AnySchema, type Any } from '@bufbuild/protobuf/wkt';
import { resolve } from 'node:path';
import type { ResourceError } from '../../api/resources/index.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  WAYPOINT_SERVICE_TYPE_URL,
  type TypeUrl,
} from '../../api/xds/type-urls.js';
import { AmbientIndex } from '../../controlplane/ambient/index.js';
import type { MeshModel } from '../../controlplane/model/mesh-model.js';
import { ConfigView } from '../../core/config/config-view.js';
import { DirectorySource } from '../../core/config/directory.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { createRegistry } from '../../core/telemetry/metrics.js';

export const SERVED_TYPES = [
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  WAYPOINT_SERVICE_TYPE_URL,
] as const;

export interface ServedConfig {
  /** By type URL, resource name → the resource as sent on the stream. */
  readonly resources: ReadonlyMap<TypeUrl, ReadonlyMap<string, Any>>;
  /** The model they were computed from, when known: explains bindings and enrollment. */
  readonly model?: MeshModel;
  /** The options the control plane ran with. */
  readonly rootNamespace: string;
  readonly domainSuffix: string;
}

export interface ServedOptions {
  readonly rootNamespace: string;
  readonly trustDomain: string;
  readonly clusterId: string;
  readonly domainSuffix: string;
}

export const DEFAULT_SERVED_OPTIONS: ServedOptions = {
  rootNamespace: 'istio-system',
  trustDomain: 'cluster.local',
  clusterId: 'Kubernetes',
  domainSuffix: 'cluster.local',
};

/** What the ambient index publishes, as the xDS server would send it. */
export function servedFromIndex(index: AmbientIndex, options: ServedOptions): ServedConfig {
  const resources = new Map<TypeUrl, Map<string, Any>>();
  for (const typeUrl of SERVED_TYPES) {
    const byName = new Map<string, Any>();
    for (const [name, value] of index.resources(typeUrl)) {
      byName.set(name, create(AnySchema, { typeUrl, value }));
    }
    resources.set(typeUrl, byName);
  }
  const model = index.model();
  return {
    resources,
    ...(model !== undefined && { model }),
    rootNamespace: options.rootNamespace,
    domainSuffix: options.domainSuffix,
  };
}

/**
 * Reads a config directory once with the control plane's source (the same validation, the
 * same rejection of bad documents) and computes what it would serve.
 */
export async function servedFromDirectory(
  directory: string,
  options: ServedOptions = DEFAULT_SERVED_OPTIONS,
): Promise<{ served: ServedConfig; rejections: readonly ResourceError[] }> {
  const source = new DirectorySource({
    directory: resolve(directory),
    logger: silentLogger(),
    registry: createRegistry(),
  });
  const view = new ConfigView();
  source.subscribe((event) => view.apply(event));
  await source.start();
  await source.stop();
  const index = new AmbientIndex({ logger: silentLogger(), ...options });
  index.updateFromResources(view.resources());
  return { served: servedFromIndex(index, options), rejections: view.rejections() };
}
