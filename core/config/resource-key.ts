import type { AnyResource } from '../../api/resources/index.js';

/** What kind of object a resource is, as the mesh tells kinds apart (`Gateway` ≠ `KubernetesGateway`). */
export type ResourceType = AnyResource['type'];

/**
 * The identity of a config object across versions and sources: `<type>/<namespace>/<name>`,
 * with an empty namespace for cluster-scoped kinds. Two documents with one key are duplicates.
 */
export type ResourceKey = string & { readonly brand: 'ResourceKey' };

export function resourceKey(type: ResourceType, namespace: string, name: string): ResourceKey {
  return `${type}/${namespace}/${name}` as ResourceKey;
}

export function keyOf(resource: AnyResource): ResourceKey {
  return resourceKey(resource.type, resource.metadata.namespace ?? '', resource.metadata.name);
}
