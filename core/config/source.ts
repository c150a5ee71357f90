import type { AnyResource, ResourceError } from '../../api/resources/index.js';
import type { ResourceKey } from './resource-key.js';

/**
 * What a config source tells its consumer. Each event is applied whole: a consumer never
 * sees half of an edit.
 *
 * - `replace`: the complete view; everything not listed is gone. Sent first after start.
 * - `apply`: objects created or changed, and keys of objects removed, since the last event.
 * - `rejections`: every document the source currently refuses, each with its error. A
 *   rejected object's last good version (if any) stays in the view; this list is for
 *   operators and `ambit analyze`, not for serving.
 */
export type ConfigEvent =
  | { readonly type: 'replace'; readonly resources: readonly AnyResource[] }
  | {
      readonly type: 'apply';
      readonly upserts: readonly AnyResource[];
      readonly deletes: readonly ResourceKey[];
    }
  | { readonly type: 'rejections'; readonly errors: readonly ResourceError[] };

export type ConfigListener = (event: ConfigEvent) => void;

/**
 * A place config comes from: a watched directory today, Kubernetes informers later. Sources
 * validate what they read and only ever emit valid resources, so the model never checks
 * input again.
 */
export interface ConfigSource {
  /** Registers a listener; returns the function that removes it. */
  subscribe(listener: ConfigListener): () => void;
  /** Begins reading; resolves once the first complete view has been emitted. */
  start(): Promise<void>;
  /** Stops watching and releases every handle; no event follows. */
  stop(): Promise<void>;
}
