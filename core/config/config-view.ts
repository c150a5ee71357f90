import type { AnyResource, ResourceError } from '../../api/resources/index.js';
import { keyOf } from './resource-key.js';
import type { ResourceKey } from './resource-key.js';
import type { ConfigEvent } from './source.js';

/**
 * The current config as a consumer sees it, kept up to date from a source's events. The
 * model is built from `resources()`, whatever source the events came from.
 */
export class ConfigView {
  private readonly byKey = new Map<ResourceKey, AnyResource>();
  private rejected: readonly ResourceError[] = [];

  /** Applies one event; returns whether the set of resources changed. */
  apply(event: ConfigEvent): boolean {
    switch (event.type) {
      case 'replace':
        this.byKey.clear();
        for (const resource of event.resources) this.byKey.set(keyOf(resource), resource);
        return true;
      case 'apply':
        for (const key of event.deletes) this.byKey.delete(key);
        for (const resource of event.upserts) this.byKey.set(keyOf(resource), resource);
        return event.deletes.length > 0 || event.upserts.length > 0;
      case 'rejections':
        this.rejected = event.errors;
        return false;
    }
  }

  resources(): AnyResource[] {
    return [...this.byKey.values()];
  }

  get(key: ResourceKey): AnyResource | undefined {
    return this.byKey.get(key);
  }

  /** Documents the source refuses right now. */
  rejections(): readonly ResourceError[] {
    return this.rejected;
  }
}
