import { registry, ResourceError } from '../../api/resources/index.js';
import type { AnyResource } from '../../api/resources/index.js';
import { keyOf, resourceKey } from './resource-key.js';
import type { ResourceKey } from './resource-key.js';

/** One file as last read: the documents that validated and the errors of those that did not. */
export interface ParsedFile {
  readonly path: string;
  readonly resources: readonly AnyResource[];
  readonly errors: readonly ResourceError[];
}

/** An object being served, and the file that gave it. */
export interface ServedObject {
  readonly resource: AnyResource;
  readonly file: string;
  /**
   * True when the document that defines the object is currently invalid and this is its
   * last good version, kept so that a typo never takes a working object away.
   */
  readonly lastGood: boolean;
}

export type ServedView = ReadonlyMap<ResourceKey, ServedObject>;

export interface ResolvedView {
  readonly served: ServedView;
  /** Every document refused, invalid ones first by file, then duplicates. */
  readonly rejected: readonly ResourceError[];
  /** The subset of `rejected` that are duplicates (for counting them once). */
  readonly duplicates: readonly ResourceError[];
}

function place(file: string, line: number | undefined): string {
  return line === undefined ? file : `${file}:${line}`;
}

/**
 * The keys an invalid document would have had, when its error says enough to tell. A kind
 * shared by two API groups (`Gateway`) names both types: keeping one object too many is
 * better than dropping one.
 */
function claimedKeys(error: ResourceError): ResourceKey[] | undefined {
  if (error.kind === undefined || error.resourceName === undefined || error.resourceName === '') {
    return undefined;
  }
  const defs = registry.withKind(error.kind);
  if (defs.length === 0) return undefined;
  return defs.map((def) =>
    resourceKey(
      def.type,
      def.namespaced ? (error.namespace ?? 'default') : '',
      error.resourceName ?? '',
    ),
  );
}

function compareFiles(a: ParsedFile, b: ParsedFile): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/**
 * Decides what is served from the files as they are now and what was served before.
 *
 * - Valid documents are taken in a stable order (file path, then position in the file); the
 *   first definition of an object wins and later ones are rejected as duplicates, naming
 *   where the winner is.
 * - An invalid document that names its object keeps that object's last good version.
 * - An invalid document that cannot even be identified keeps everything its file served
 *   before that no valid document provides now: nothing is lost to a broken file.
 * - A file that is gone takes its objects with it.
 */
export function resolveView(files: Iterable<ParsedFile>, previous: ServedView): ResolvedView {
  const ordered = [...files].sort(compareFiles);
  const served = new Map<ResourceKey, ServedObject>();
  const duplicates: ResourceError[] = [];

  for (const file of ordered) {
    const resources = file.resources
      .map((resource, index) => ({ resource, index }))
      .sort(
        (a, b) =>
          (a.resource.source?.line ?? 0) - (b.resource.source?.line ?? 0) || a.index - b.index,
      );
    for (const { resource } of resources) {
      const key = keyOf(resource);
      const winner = served.get(key);
      if (winner === undefined) {
        served.set(key, { resource, file: file.path, lastGood: false });
        continue;
      }
      const { namespace, name } = resource.metadata;
      duplicates.push(
        new ResourceError({
          file: file.path,
          ...(resource.source?.line !== undefined && { line: resource.source.line }),
          kind: resource.kind,
          ...(namespace !== undefined && { namespace }),
          name,
          path: '',
          reason: `duplicate of the object defined at ${place(winner.file, winner.resource.source?.line)}, which is served instead`,
        }),
      );
    }
  }

  const invalid: ResourceError[] = [];
  const unidentified = new Set<string>();
  const keepLastGood = (key: ResourceKey, before: ServedObject | undefined) => {
    if (before !== undefined && !served.has(key)) served.set(key, { ...before, lastGood: true });
  };
  for (const file of ordered) {
    for (const error of file.errors) {
      invalid.push(error);
      const keys = claimedKeys(error);
      if (keys === undefined) unidentified.add(file.path);
      else for (const key of keys) keepLastGood(key, previous.get(key));
    }
  }
  if (unidentified.size > 0) {
    for (const [key, before] of previous) {
      if (unidentified.has(before.file)) keepLastGood(key, before);
    }
  }

  return { served, rejected: [...invalid, ...duplicates], duplicates };
}

/** What changed between two views: objects new or different, and keys gone. */
export function diffViews(
  before: ServedView,
  after: ServedView,
): { upserts: AnyResource[]; deletes: ResourceKey[] } {
  const upserts: AnyResource[] = [];
  const deletes: ResourceKey[] = [];
  for (const [key, now] of after) {
    const then = before.get(key);
    if (then === undefined || !sameResource(then.resource, now.resource))
      upserts.push(now.resource);
  }
  for (const key of before.keys()) {
    if (!after.has(key)) deletes.push(key);
  }
  return { upserts, deletes };
}

function sameResource(a: AnyResource, b: AnyResource): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}
