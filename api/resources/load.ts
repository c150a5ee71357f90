/**
 * The one loader of resource YAML (and JSON): multi-document text in, validated resources
 * and line-numbered errors out. Every document stands alone, so one bad document never
 * hides the others.
 */
import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments } from 'yaml';
import type { Document, Node } from 'yaml';
import { dns1123Label, dns1123Subdomain, parse, parsePath } from '../schema/index.js';
import type { Issue } from '../schema/index.js';
import { ResourceError } from './errors.js';
import type { AnyResource } from './index.js';
import { objectMeta } from './object-meta.js';
import { registry as defaultRegistry, splitApiVersion } from './registry.js';
import type { ResourceRegistry } from './registry.js';
import type { ObjectMeta, ResourceDefinition, SourcePosition } from './types.js';

export interface LoadResult {
  resources: AnyResource[];
  errors: ResourceError[];
}

export interface ValidateResult {
  resource?: AnyResource;
  errors: ResourceError[];
}

/** The fields every resource has at the top level. */
const ENVELOPE = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/** Maps a field path (relative to one object) to the line it is written on, if known. */
type Locate = (path: string) => number | undefined;

interface Origin {
  file?: string;
  /** The line the object starts on. */
  line?: number;
  locate?: Locate;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks one object as a resource. Never throws on any JSON value. */
function checkObject(obj: unknown, origin: Origin, registry: ResourceRegistry): ValidateResult {
  const where = (path: string) => ({
    ...(origin.file !== undefined && { file: origin.file }),
    ...((origin.locate?.(path) ?? origin.line) !== undefined && {
      line: origin.locate?.(path) ?? origin.line,
    }),
  });
  if (!isRecord(obj)) {
    const reason = 'must be an object with apiVersion, kind and metadata';
    return { errors: [new ResourceError({ ...where(''), path: '', reason })] };
  }
  const { apiVersion, kind } = obj;
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : undefined;
  const kindText = typeof kind === 'string' ? kind : undefined;
  const docDetails = (def: ResourceDefinition | undefined) => {
    const ns = typeof meta.namespace === 'string' ? meta.namespace : undefined;
    const namespace = def === undefined ? ns : def.namespaced ? (ns ?? 'default') : undefined;
    return {
      ...(kindText !== undefined && { kind: kindText }),
      ...(namespace !== undefined && { namespace }),
      ...(name !== undefined && { name }),
    };
  };
  const fail = (def: ResourceDefinition | undefined, issues: readonly Issue[]): ValidateResult => ({
    errors: issues.map(
      (i) =>
        new ResourceError({ ...where(i.path), ...docDetails(def), path: i.path, reason: i.reason }),
    ),
  });

  const headIssues: Issue[] = [];
  for (const [field, value] of [
    ['apiVersion', apiVersion],
    ['kind', kind],
  ] as const) {
    if (value === undefined || value === null || value === '') {
      headIssues.push({ path: field, reason: 'is required' });
    } else if (typeof value !== 'string')
      headIssues.push({ path: field, reason: 'must be a string' });
  }
  if (headIssues.length > 0 || typeof apiVersion !== 'string' || typeof kind !== 'string') {
    return fail(undefined, headIssues);
  }
  const def = registry.lookup(apiVersion, kind);
  if (def === undefined) return fail(undefined, [unservedIssue(apiVersion, kind, registry)]);

  const issues: Issue[] = [];
  const metadata = parse(objectMeta, obj.metadata ?? {}, 'metadata');
  if (!metadata.ok) issues.push(...metadata.issues);
  else {
    const nameCheck = def.nameFormat === 'dns1123-label' ? dns1123Label : dns1123Subdomain;
    nameCheck(metadata.value.name, {
      path: 'metadata.name',
      issue: (_rel, reason) => issues.push({ path: 'metadata.name', reason }),
    });
  }
  const spec =
    def.specFields === undefined
      ? parse(def.spec, obj.spec ?? {}, 'spec')
      : parse(def.spec, topLevelSpec(obj, def.specFields), '');
  if (!spec.ok) issues.push(...spec.issues);
  else if (def.check !== undefined && metadata.ok)
    issues.push(...def.check(metadata.value, spec.value));
  let status: unknown = obj.status ?? undefined;
  if (def.status !== undefined && obj.status !== undefined && obj.status !== null) {
    const parsed = parse(def.status, obj.status, 'status');
    if (!parsed.ok) issues.push(...parsed.issues);
    else status = parsed.value;
  }
  // Istio's and Gateway API's CRDs are strict at the top level too; Kubernetes' own kinds
  // carry more top-level fields (ServiceAccount's secrets) that the mesh does not read.
  if (def.group !== '') {
    for (const key of Object.keys(obj)) {
      if (!ENVELOPE.has(key)) issues.push({ path: key, reason: 'unknown field' });
    }
  }
  if (issues.length > 0 || !metadata.ok || !spec.ok) return fail(def, issues);

  const m: ObjectMeta = { ...metadata.value };
  if (def.namespaced) m.namespace = m.namespace ?? 'default';
  else delete m.namespace;
  const source: SourcePosition = {
    ...(origin.file !== undefined && { file: origin.file }),
    ...(origin.line !== undefined && { line: origin.line }),
  };
  const resource = {
    type: def.type,
    apiVersion,
    kind,
    metadata: m,
    spec: spec.value,
    ...(status !== undefined && { status }),
    ...((origin.file !== undefined || origin.line !== undefined) && { source }),
  } as AnyResource;
  return { resource, errors: [] };
}

/** The top-level fields of a kind without `spec`, as one object. */
function topLevelSpec(obj: Record<string, unknown>, fields: readonly string[]): unknown {
  const out: Record<string, unknown> = {};
  for (const field of fields) if (obj[field] !== undefined) out[field] = obj[field];
  return out;
}

/** Why (apiVersion, kind) names nothing the mesh reads, as an issue on the right field. */
function unservedIssue(apiVersion: string, kind: string, registry: ResourceRegistry): Issue {
  const { group, version } = splitApiVersion(apiVersion);
  const candidates = registry.withKind(kind);
  const sameGroup = candidates.find((d) => d.group === group);
  if (sameGroup !== undefined) {
    return {
      path: 'apiVersion',
      reason: `version ${version} of ${kind} is not served; use ${sameGroup.versions
        .map((v) => (group === '' ? v : `${group}/${v}`))
        .join(', ')}`,
    };
  }
  if (candidates.length > 0) {
    const served = candidates.map((d) =>
      d.group === '' ? d.versions[0] : `${d.group}/${d.versions[0]}`,
    );
    return {
      path: 'apiVersion',
      reason: `${kind} is not in ${apiVersion}; use ${served.join(' or ')}`,
    };
  }
  return { path: 'kind', reason: `unknown kind ${kind} in ${apiVersion}` };
}

/**
 * Validates an object that did not come from text (from the Kubernetes API, or built in
 * code). Errors carry `source` when given.
 */
export function validateResource(
  obj: unknown,
  source?: SourcePosition,
  registry: ResourceRegistry = defaultRegistry,
): ValidateResult {
  return checkObject(
    obj,
    {
      ...(source?.file !== undefined && { file: source.file }),
      ...(source?.line !== undefined && { line: source.line }),
    },
    registry,
  );
}

/** A function from field paths under `root` to the line of the deepest field written. */
function locator(root: Node, lines: LineCounter): Locate {
  const lineAt = (node: Node | null | undefined, fallback: number | undefined) =>
    node?.range ? lines.linePos(node.range[0]).line : fallback;
  return (path) => {
    let node: unknown = root;
    let line = lineAt(root, undefined);
    for (const segment of parsePath(path)) {
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isScalar(p.key) && String(p.key.value) === String(segment),
        );
        if (pair === undefined) break;
        line = lineAt(pair.key as Node, line);
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment];
        if (item === undefined) break;
        line = lineAt(item as Node, line);
        node = item;
      } else break;
    }
    return line;
  };
}

/** The first line of a YAML error message, without the " at line N, column M" tail. */
function yamlReason(message: string): string {
  const first = message.split('\n')[0] ?? message;
  return first.replace(/ at line \d+, column \d+:?$/, '');
}

function checkDocument(
  doc: Document.Parsed,
  lines: LineCounter,
  file: string | undefined,
  registry: ResourceRegistry,
  out: LoadResult,
): void {
  const root = doc.contents;
  const firstLine = root?.range ? lines.linePos(root.range[0]).line : undefined;
  const [syntax] = doc.errors;
  if (syntax !== undefined) {
    out.errors.push(
      new ResourceError({
        ...(file !== undefined && { file }),
        ...((syntax.linePos?.[0].line ?? firstLine) !== undefined && {
          line: syntax.linePos?.[0].line ?? firstLine,
        }),
        path: '',
        reason: `invalid YAML: ${yamlReason(syntax.message)}`,
      }),
    );
    return;
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    const reason = `invalid YAML: ${err instanceof Error ? err.message : String(err)}`;
    out.errors.push(
      new ResourceError({
        ...(file !== undefined && { file }),
        ...(firstLine !== undefined && { line: firstLine }),
        path: '',
        reason,
      }),
    );
    return;
  }
  // An empty document (or only comments) holds a null scalar, or nothing at all.
  if (root === null || value === null || value === undefined) return;
  const items = listItems(value);
  if (items === undefined) {
    collect(checkObject(value, origin(root, lines, file), registry), out);
    return;
  }
  const itemsNode = isMap(root) ? root.get('items', true) : undefined;
  items.forEach((item, i) => {
    const node = isSeq(itemsNode) ? (itemsNode.items[i] as Node | undefined) : undefined;
    collect(checkObject(item, origin(node ?? root, lines, file), registry), out);
  });
}

/** The items of a `kind: List` document (as `kubectl get -o yaml` writes), else undefined. */
function listItems(value: unknown): unknown[] | undefined {
  if (!isRecord(value) || value.kind !== 'List' || !Array.isArray(value.items)) return undefined;
  return value.apiVersion === 'v1' || value.apiVersion === undefined ? value.items : undefined;
}

function origin(node: Node, lines: LineCounter, file: string | undefined): Origin {
  const line = node.range ? lines.linePos(node.range[0]).line : undefined;
  return {
    ...(file !== undefined && { file }),
    ...(line !== undefined && { line }),
    locate: locator(node, lines),
  };
}

function collect(result: ValidateResult, out: LoadResult): void {
  if (result.resource !== undefined) out.resources.push(result.resource);
  out.errors.push(...result.errors);
}

/**
 * Parses multi-document YAML or JSON (also `kind: List` documents) into validated
 * resources. A document with any problem is left out and reported, each problem on the
 * line of its field; every other document is returned with `source` set.
 */
export function parseResources(
  text: string,
  file?: string,
  registry: ResourceRegistry = defaultRegistry,
): LoadResult {
  const out: LoadResult = { resources: [], errors: [] };
  const lines = new LineCounter();
  for (const doc of parseAllDocuments(text, { lineCounter: lines })) {
    checkDocument(doc, lines, file, registry, out);
  }
  return out;
}
