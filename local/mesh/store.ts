import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseResources, type AnyResource } from '../../api/resources/index.js';
import type { ResourceError } from '../../api/resources/index.js';
import { registry } from '../../api/resources/registry.js';
import type { ResourceDefinition } from '../../api/resources/types.js';
import { MeshError } from '../../core/errors.js';
import type { AddressPlan } from '../addresses.js';

// The local mesh's config store: the directory the control plane and node agents watch.
// Every object is one file, `<plural>.<group>_<namespace>_<name>.yaml` (names hold no `_`),
// written whole and renamed into place, so `apply`, `delete` and `get` work per object and
// the watchers never read half a file. What users put there by hand is read too.

export class InvalidConfigError extends MeshError {
  readonly code = 'AMBIT_STORE_INVALID';
  constructor(readonly errors: readonly ResourceError[]) {
    super(
      `${errors.length} invalid document(s), nothing applied:\n${errors.map((e) => e.message).join('\n')}`,
    );
  }
}

export class ServiceAddressesExhaustedError extends MeshError {
  readonly code = 'AMBIT_STORE_NO_VIP';
  constructor(readonly service: string) {
    super(`service ${service}: every address of the mesh's service range is taken`);
  }
}

/** What applying one object did, as kubectl reports it. */
export type ApplyOutcome = 'created' | 'configured' | 'unchanged';

export interface StoredObject {
  readonly resource: AnyResource;
  readonly definition: ResourceDefinition;
  /** The file it was read from. */
  readonly file: string;
}

/** `service/echo`, `gateway.networking.istio.io/waypoint`: how kubectl names an object. */
export function objectRef(resource: AnyResource): string {
  const def = definitionOf(resource);
  const kind = def.kind.toLowerCase();
  const qualified = def.group === '' || !ambiguous(def) ? kind : `${kind}.${def.group}`;
  return `${qualified}/${resource.metadata.name}`;
}

export function definitionOf(resource: AnyResource): ResourceDefinition {
  const def = registry.byType(resource.type);
  if (def === undefined) throw new Error(`no definition for ${resource.type}`);
  return def;
}

function ambiguous(def: ResourceDefinition): boolean {
  return registry.withKind(def.kind).length > 1;
}

/** The file an object is kept in. */
export function objectFileName(def: ResourceDefinition, namespace: string, name: string): string {
  return `${def.plural}.${def.group || 'core'}_${def.namespaced ? namespace : ''}_${name}.yaml`;
}

/** Validates every document first: one invalid document and nothing is written. */
export function parseAll(inputs: readonly { file: string; text: string }[]): AnyResource[] {
  const resources: AnyResource[] = [];
  const errors: ResourceError[] = [];
  for (const { file, text } of inputs) {
    const result = parseResources(text, file);
    resources.push(...result.resources);
    errors.push(...result.errors);
  }
  if (errors.length > 0) throw new InvalidConfigError(errors);
  return resources;
}

export class ConfigStore {
  constructor(
    readonly directory: string,
    /** Where Services without a clusterIP get one, as the API server gives it. */
    readonly plan?: AddressPlan,
  ) {}

  /** Every valid object in the directory (files written by hand included). */
  async list(): Promise<StoredObject[]> {
    const out: StoredObject[] = [];
    for (const file of await this.#files()) {
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // Removed since the listing.
      for (const resource of parseResources(text, file).resources)
        out.push({ resource, definition: definitionOf(resource), file });
    }
    return out;
  }

  async find(
    def: ResourceDefinition,
    namespace: string,
    name: string,
  ): Promise<StoredObject | undefined> {
    return (await this.list()).find(
      (o) =>
        o.definition === def &&
        o.resource.metadata.name === name &&
        (!def.namespaced || o.resource.metadata.namespace === namespace),
    );
  }

  /** Writes one object (its own file; one left by hand for it is replaced). */
  async apply(resource: AnyResource): Promise<ApplyOutcome> {
    const def = definitionOf(resource);
    const namespace = resource.metadata.namespace ?? '';
    const existing = await this.find(def, namespace, resource.metadata.name);
    // As the API server: the first apply stamps the creation time, later ones keep it.
    const created =
      existing?.resource.metadata.creationTimestamp ??
      resource.metadata.creationTimestamp ??
      new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const object = await this.#withClusterIP(
      { ...resource, metadata: { ...resource.metadata, creationTimestamp: created } },
      existing,
    );
    const text = stringify(object);
    const file = join(this.directory, objectFileName(def, namespace, resource.metadata.name));
    if (existing?.file === file && (await readFile(file, 'utf8')) === text) return 'unchanged';
    // Hidden while being written: the directory source skips dot files.
    const temporary = join(
      this.directory,
      `.${objectFileName(def, namespace, 'x')}.${process.pid}`,
    );
    await writeFile(temporary, text);
    await rename(temporary, file);
    if (existing && existing.file !== file) await this.#removeFrom(existing);
    return existing ? 'configured' : 'created';
  }

  /** Removes one object; false when it was not there. */
  async delete(def: ResourceDefinition, namespace: string, name: string): Promise<boolean> {
    const existing = await this.find(def, namespace, name);
    if (!existing) return false;
    await this.#removeFrom(existing);
    return true;
  }

  /** A file holding only this object goes; from a hand-written file with others, it is cut. */
  async #removeFrom(object: StoredObject): Promise<void> {
    const text = await readFile(object.file, 'utf8');
    const rest = parseResources(text, object.file).resources.filter(
      (r) =>
        !(
          r.type === object.resource.type &&
          r.metadata.name === object.resource.metadata.name &&
          r.metadata.namespace === object.resource.metadata.namespace
        ),
    );
    if (rest.length === 0) {
      await rm(object.file, { force: true });
      return;
    }
    const temporary = `${object.file}.tmp`;
    await writeFile(temporary, rest.map((r) => stringify(plainObject(r))).join('---\n'));
    await rename(temporary, object.file);
  }

  async #withClusterIP(resource: AnyResource, existing: StoredObject | undefined) {
    const object = plainObject(resource);
    if (resource.type !== 'Service' || this.plan === undefined) return object;
    const spec = object.spec as { clusterIP?: string; clusterIPs?: string[]; type?: string };
    if (spec.clusterIP !== undefined && spec.clusterIP !== '') return object;
    const kept =
      existing?.resource.type === 'Service'
        ? (existing.resource.spec as { clusterIP?: string }).clusterIP
        : undefined;
    const clusterIP =
      kept ?? (await this.#freeVip(`${resource.metadata.namespace}/${resource.metadata.name}`));
    return { ...object, spec: { ...spec, clusterIP, clusterIPs: [clusterIP] } };
  }

  async #freeVip(service: string): Promise<string> {
    const plan = this.plan!;
    const used = new Set<string>();
    for (const { resource } of await this.list())
      if (resource.type === 'Service') {
        const ip = (resource.spec as { clusterIP?: string }).clusterIP;
        if (ip) used.add(ip);
      }
    for (let n = 1; n <= 254; n++) if (!used.has(plan.serviceVip(n))) return plan.serviceVip(n);
    throw new ServiceAddressesExhaustedError(service);
  }

  async #files(): Promise<string[]> {
    const walk = async (dir: string): Promise<string[]> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const files: string[] = [];
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) files.push(...(await walk(path)));
        else if (/\.(ya?ml|json)$/.test(entry.name)) files.push(path);
      }
      return files;
    };
    return walk(this.directory);
  }
}

/** The object as a user writes it: no loader bookkeeping. */
export function plainObject(resource: AnyResource): Record<string, unknown> {
  const { apiVersion, kind, metadata, spec, status } = resource;
  return {
    apiVersion,
    kind,
    metadata,
    ...(spec !== undefined && spec !== null && Object.keys(spec).length > 0 ? { spec } : {}),
    ...(status !== undefined ? { status } : {}),
  };
}

/** Finds a kind the way kubectl does: kind, plural, short name, each optionally `.group`. */
export function resolveKind(text: string): ResourceDefinition | undefined {
  const lower = text.toLowerCase();
  const dot = lower.indexOf('.');
  const name = dot < 0 ? lower : lower.slice(0, dot);
  const group = dot < 0 ? undefined : lower.slice(dot + 1);
  const matches = registry.definitions.filter(
    (d) =>
      (group === undefined || d.group === group) &&
      (d.kind.toLowerCase() === name || d.plural === name || (d.shortNames ?? []).includes(name)),
  );
  // `gateway` alone means Istio's, as with Istio's CRDs installed (Gateway API's is `gtw`).
  return matches.find((d) => d.group === 'networking.istio.io') ?? matches[0];
}
