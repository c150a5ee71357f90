/**
 * CustomResourceDefinitions for the non-core kinds, made from the same schemas that
 * validate at runtime. Rules the schema DSL cannot express structurally travel in the
 * `description` of the node they belong to (and CEL for durations).
 */
import { toOpenAPI } from '../schema/index.js';
import type { OpenAPISchema } from '../schema/index.js';
import { definitions } from './registry.js';
import type { ResourceDefinition } from './types.js';

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    group: string;
    names: {
      kind: string;
      listKind: string;
      plural: string;
      singular: string;
      shortNames?: string[];
      categories?: string[];
    };
    scope: 'Namespaced' | 'Cluster';
    versions: Array<{
      name: string;
      served: true;
      storage: boolean;
      subresources: { status: Record<string, never> };
      schema: { openAPIV3Schema: OpenAPISchema };
    }>;
  };
}

/** The CRD of a non-core kind (group other than ''). */
export function crdFor(def: ResourceDefinition): CustomResourceDefinition {
  if (def.group === '') {
    throw new RangeError(`${def.kind} is a core Kubernetes kind and has no CRD`);
  }
  const status: OpenAPISchema =
    def.status !== undefined
      ? toOpenAPI(def.status)
      : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  const openAPIV3Schema: OpenAPISchema = {
    type: 'object',
    properties: { spec: toOpenAPI(def.spec), status },
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${def.group}` },
    spec: {
      group: def.group,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.kind.toLowerCase(),
        ...(def.shortNames !== undefined && { shortNames: [...def.shortNames] }),
        ...(def.categories !== undefined && { categories: [...def.categories] }),
      },
      scope: def.namespaced ? 'Namespaced' : 'Cluster',
      versions: def.versions.map((name, i) => ({
        name,
        served: true,
        storage: i === 0,
        subresources: { status: {} },
        schema: { openAPIV3Schema: structuredClone(openAPIV3Schema) },
      })),
    },
  };
}

/** The CRDs of every non-core kind the mesh reads. */
export function crds(): CustomResourceDefinition[] {
  return definitions.filter((d) => d.group !== '').map(crdFor);
}
