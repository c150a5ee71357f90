import { createHash } from 'node:crypto';

// What the Delta ADS server serves, per type URL: resource name → encoded resource. Pure: no
// timers, no sockets. The server packs the bytes into google.protobuf.Any when it sends them.

/** A resource's version: a short hash of its encoded bytes, stable across restarts. */
export type ResourceVersion = string & { readonly brand: 'ResourceVersion' };

/** One resource as the server holds it. */
export interface SnapshotResource {
  readonly version: ResourceVersion;
  /** The encoded message (e.g. an istio.workload.Address), not yet wrapped in Any. */
  readonly bytes: Uint8Array;
}

/** Every resource of one type URL at one moment. */
export interface TypeSnapshot {
  readonly typeUrl: string;
  /** A hash over every (name, version): the `system_version_info` of responses. */
  readonly version: string;
  readonly resources: ReadonlyMap<string, SnapshotResource>;
}

/** What a subscriber must be sent to go from what it holds to the current snapshot. */
export interface SnapshotDiff {
  /** Names that are new to the subscriber or held at another version. Sorted. */
  readonly upserts: string[];
  /** Names the subscriber holds that no longer exist. Sorted. */
  readonly removals: string[];
}

// 16 hex characters = 64 bits: a collision between two versions of one name is not a concern.
const VERSION_LENGTH = 16;

export function resourceVersion(bytes: Uint8Array): ResourceVersion {
  return createHash('sha256')
    .update(bytes)
    .digest('hex')
    .slice(0, VERSION_LENGTH) as ResourceVersion;
}

function snapshotVersion(resources: ReadonlyMap<string, SnapshotResource>): string {
  const hash = createHash('sha256');
  for (const name of [...resources.keys()].sort()) {
    // NUL and newline cannot occur in a hex version, so the encoding is unambiguous.
    hash
      .update(name)
      .update('\0')
      .update(resources.get(name)?.version ?? '')
      .update('\n');
  }
  return hash.digest('hex').slice(0, VERSION_LENGTH);
}

/** Builds the snapshot of one type from encoded resources, computing every version. */
export function typeSnapshot(
  typeUrl: string,
  resources: ReadonlyMap<string, Uint8Array>,
): TypeSnapshot {
  const held = new Map<string, SnapshotResource>();
  for (const [name, bytes] of resources) held.set(name, { version: resourceVersion(bytes), bytes });
  return { typeUrl, version: snapshotVersion(held), resources: held };
}

/**
 * The difference between what a subscriber holds (name → version) and the current resources.
 * `wants` limits upserts to the names the subscriber asked for (all of them for a wildcard
 * subscriber); removals cover every held name that is gone, whatever the subscription.
 */
export function diff(
  known: ReadonlyMap<string, string>,
  current: ReadonlyMap<string, { readonly version: string }>,
  wants: (name: string) => boolean = () => true,
): SnapshotDiff {
  const upserts: string[] = [];
  for (const [name, resource] of current) {
    if (known.get(name) !== resource.version && wants(name)) upserts.push(name);
  }
  const removals: string[] = [];
  for (const name of known.keys()) if (!current.has(name)) removals.push(name);
  return { upserts: upserts.sort(), removals: removals.sort() };
}

/** The current snapshot of every type the server has been given. */
export class SnapshotCache {
  readonly #types = new Map<string, TypeSnapshot>();

  /**
   * Replaces the resources of one type. Returns the new snapshot, or undefined when its
   * content is the same as before (nothing to push).
   */
  set(typeUrl: string, resources: ReadonlyMap<string, Uint8Array>): TypeSnapshot | undefined {
    const next = typeSnapshot(typeUrl, resources);
    if (this.#types.get(typeUrl)?.version === next.version) return undefined;
    this.#types.set(typeUrl, next);
    return next;
  }

  get(typeUrl: string): TypeSnapshot | undefined {
    return this.#types.get(typeUrl);
  }
}
