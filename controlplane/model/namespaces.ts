import type { NamespaceResource } from '../../api/resources/index.js';

export type Labels = Readonly<Record<string, string>>;

/** A namespace as the mesh sees it: its labels carry enrollment and waypoint choices. */
export interface NamespaceInfo {
  readonly name: string;
  readonly labels: Labels;
  readonly annotations: Labels;
}

export function namespaceInfo(resource: NamespaceResource): NamespaceInfo {
  return {
    name: resource.metadata.name,
    labels: resource.metadata.labels ?? {},
    annotations: resource.metadata.annotations ?? {},
  };
}
