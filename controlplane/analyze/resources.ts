import type { AnyResource } from '../../api/resources/index.js';
import type { ObjectRef } from '../model/issues.js';
import type { AnalyzedResource } from './message.js';

/** Kinds whose objects live outside namespaces. */
const CLUSTER_SCOPED = new Set(['Namespace']);

/** A resource as findings name it, with where it was written. */
export function analyzed(resource: AnyResource): AnalyzedResource {
  const { kind, metadata, source } = resource;
  return {
    kind,
    ...(!CLUSTER_SCOPED.has(kind) && { namespace: metadata.namespace ?? 'default' }),
    name: metadata.name,
    ...(source?.file !== undefined && { file: source.file }),
    ...(source?.line !== undefined && { line: source.line }),
  };
}

/** Finds the resource an ObjectRef names, to report it with its file and line. */
export class ResourceLookup {
  readonly #byKey = new Map<string, AnyResource>();

  constructor(resources: Iterable<AnyResource>) {
    for (const r of resources) {
      const ns = CLUSTER_SCOPED.has(r.kind) ? '' : (r.metadata.namespace ?? 'default');
      this.#byKey.set(`${r.type}|${ns}|${r.metadata.name}`, r);
    }
  }

  /** The object as a finding names it (kind from the resource when it is known). */
  of(ref: ObjectRef): AnalyzedResource {
    const found = this.#byKey.get(`${ref.type}|${ref.namespace}|${ref.name}`);
    if (found !== undefined) return analyzed(found);
    const kind = ref.type === 'KubernetesGateway' ? 'Gateway' : ref.type;
    return {
      kind,
      ...(ref.namespace !== '' && { namespace: ref.namespace }),
      name: ref.name,
    };
  }
}
