import type { ResourceType } from '../../api/resources/index.js';
import type { ObjectRef } from '../model/issues.js';

/** How issues name the object a route came from. */
export function refOf(resource: {
  readonly type: ResourceType;
  readonly metadata: { readonly name: string; readonly namespace?: string | undefined };
}): ObjectRef {
  return {
    type: resource.type,
    namespace: resource.metadata.namespace ?? 'default',
    name: resource.metadata.name,
  };
}
