/**
 * The schema nodes. One definition gives three things: the TypeScript type (`Infer`), the
 * runtime check with field paths (`parse`/`validate`), and the OpenAPI v3 structural schema
 * a CRD carries (`toOpenAPI`). Nodes are immutable: every modifier returns a new node, so a
 * shared node such as a port number can be refined in one place without touching another.
 */
import { parseDurationNs } from './duration.js';
import type { DurationString } from './duration.js';
import type { OpenAPISchema } from './openapi-types.js';
import { indexPath, joinPath, keyPath } from './path.js';

/** One problem found in a value: where (a field path such as `spec.http[0].timeout`) and why. */
export interface Issue {
  readonly path: string;
  readonly reason: string;
}

/** Handed to `.check()` rules to report problems relative to the value being checked. */
export interface CheckContext {
  /** The full path of the value being checked. */
  readonly path: string;
  /** Records a problem at `rel`, a path relative to the checked value ('' for the value). */
  issue(rel: string, reason: string): void;
}

/** A cross-field rule. It runs only on values whose shape already matched the schema. */
export type Check<T> = (value: T, ctx: CheckContext) => void;

/** Marks a value whose shape did not match; its issues are already recorded. */
export const INVALID: unique symbol = Symbol('invalid');
export type Parsed<T> = T | typeof INVALID;

type StoredCheck = { readonly fn: Check<unknown>; readonly note: string | undefined };

/** The output type of a schema. */
export type Infer<S extends Schema<unknown>> = S['_output'];

export abstract class Schema<Out = unknown> {
  /** Type-level only: the value type this schema produces. */
  declare readonly _output: Out;
  private checks: readonly StoredCheck[] = [];
  private text: string | undefined;

  /** As an object field: may be absent (or null). */
  optional(): OptionalSchema<this> {
    return new OptionalSchema(this);
  }

  /** As an object field: may be absent, in which case `value` is used (and published). */
  default(value: Out): DefaultSchema<this> {
    return new DefaultSchema(this, value);
  }

  /**
   * Adds a rule the shape alone cannot say. `note` describes it in the OpenAPI description,
   * since the API server cannot run it.
   */
  check(fn: Check<Out>, note?: string): this {
    return this.with({ checks: [...this.checks, { fn: fn as Check<unknown>, note }] });
  }

  /** A human description, published in the OpenAPI schema. */
  describe(text: string): this {
    return this.with({ text });
  }

  /**
   * Checks `value` at `path`, pushing every problem onto `issues`. Returns the value as the
   * schema's type (absent optional fields dropped, defaults filled) or INVALID when its shape
   * is wrong. Never throws on any JSON value.
   */
  _parse(value: unknown, path: string, issues: Issue[]): Parsed<Out> {
    const out = this.parseShape(value, path, issues);
    if (out === INVALID) return INVALID;
    for (const { fn } of this.checks) {
      fn(out, {
        path,
        issue: (rel, reason) => issues.push({ path: joinPath(path, rel), reason }),
      });
    }
    return out;
  }

  /** The OpenAPI v3 structural schema of this node. */
  _openapi(): OpenAPISchema {
    const schema = this.shapeOpenAPI();
    const notes = [this.text, ...this.checks.map((c) => c.note)].filter(
      (n): n is string => n !== undefined && n !== '',
    );
    if (notes.length > 0) schema.description = notes.join(' ');
    return schema;
  }

  protected abstract parseShape(value: unknown, path: string, issues: Issue[]): Parsed<Out>;
  protected abstract shapeOpenAPI(): OpenAPISchema;

  private with(changes: { checks?: readonly StoredCheck[]; text?: string }): this {
    const copy = Object.create(Object.getPrototypeOf(this) as object) as this;
    Object.assign(copy, this, changes);
    return copy;
  }
}

/** An object field that may be absent. Produced by `.optional()`. */
export class OptionalSchema<S extends Schema<unknown>> extends Schema<Infer<S>> {
  declare readonly _optional: true;
  constructor(readonly inner: S) {
    super();
  }
  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<Infer<S>> {
    return this.inner._parse(value, path, issues);
  }
  protected shapeOpenAPI(): OpenAPISchema {
    return this.inner._openapi();
  }
}

/** An object field that takes a default when absent. Produced by `.default()`. */
export class DefaultSchema<S extends Schema<unknown>> extends Schema<Infer<S>> {
  constructor(
    readonly inner: S,
    readonly defaultValue: Infer<S>,
  ) {
    super();
  }
  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<Infer<S>> {
    return this.inner._parse(value, path, issues);
  }
  protected shapeOpenAPI(): OpenAPISchema {
    return { ...this.inner._openapi(), default: this.defaultValue };
  }
}

export interface StringOptions {
  /** Must match (searched, so anchor it). Published as the OpenAPI `pattern`. */
  pattern?: RegExp;
  /** Said instead of "must match <pattern>" when the pattern does not match. */
  patternReason?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
}

export class StringSchema extends Schema<string> {
  constructor(readonly options: StringOptions = {}) {
    super();
  }
  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<string> {
    if (typeof value !== 'string') {
      issues.push({ path, reason: 'must be a string' });
      return INVALID;
    }
    const { pattern, patternReason, minLength, maxLength } = this.options;
    if (minLength !== undefined && value.length < minLength) {
      issues.push({
        path,
        reason: minLength === 1 ? 'must not be empty' : `must be at least ${minLength} characters`,
      });
    }
    if (maxLength !== undefined && value.length > maxLength) {
      issues.push({ path, reason: `must be at most ${maxLength} characters` });
    }
    if (pattern !== undefined && !pattern.test(value)) {
      issues.push({ path, reason: patternReason ?? `must match ${pattern.source}` });
    }
    return value;
  }
  protected shapeOpenAPI(): OpenAPISchema {
    const { pattern, format, minLength, maxLength } = this.options;
    return {
      type: 'string',
      ...(format !== undefined && { format }),
      ...(pattern !== undefined && { pattern: pattern.source }),
      ...(minLength !== undefined && { minLength }),
      ...(maxLength !== undefined && { maxLength }),
    };
  }
}

export interface NumberOptions {
  minimum?: number;
  maximum?: number;
  /** OpenAPI format, e.g. int32, uint32, int64, double. */
  format?: string;
}

function rangeReason(value: number, { minimum, maximum }: NumberOptions): string | undefined {
  const below = minimum !== undefined && value < minimum;
  const above = maximum !== undefined && value > maximum;
  if (!below && !above) return undefined;
  if (minimum !== undefined && maximum !== undefined) {
    return `must be between ${minimum} and ${maximum}`;
  }
  return below ? `must be at least ${minimum}` : `must be at most ${maximum}`;
}

export class IntegerSchema extends Schema<number> {
  constructor(readonly options: NumberOptions = {}) {
    super();
  }
  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<number> {
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      issues.push({ path, reason: 'must be an integer' });
      return INVALID;
    }
    const reason = rangeReason(value, this.options);
    if (reason !== undefined) issues.push({ path, reason });
    return value;
  }
  protected shapeOpenAPI(): OpenAPISchema {
    return { type: 'integer', ...this.options };
  }
}

export class NumberSchema extends Schema<number> {
  constructor(readonly options: NumberOptions = {}) {
    super();
  }
  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<number> {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      issues.push({ path, reason: 'must be a number' });
      return INVALID;
    }
    const reason = rangeReason(value, this.options);
    if (reason !== undefined) issues.push({ path, reason });
    return value;
  }
  protected shapeOpenAPI(): OpenAPISchema {
    return { type: 'number', ...this.options };
  }
}

export class BooleanSchema extends Schema<boolean> {
  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<boolean> {
    if (typeof value !== 'boolean') {
      issues.push({ path, reason: 'must be a boolean' });
      return INVALID;
    }
    return value;
  }
  protected shapeOpenAPI(): OpenAPISchema {
    return { type: 'boolean' };
  }
}

export class EnumSchema<V extends string> extends Schema<V> {
  constructor(readonly values: readonly V[]) {
    super();
  }
  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<V> {
    if (typeof value !== 'string' || !(this.values as readonly string[]).includes(value)) {
      issues.push({ path, reason: `must be one of ${this.values.join(', ')}` });
      return INVALID;
    }
    return value as V;
  }
  protected shapeOpenAPI(): OpenAPISchema {
    return { type: 'string', enum: [...this.values] };
  }
}

export interface DurationOptions {
  /** Smallest accepted duration in milliseconds; Istio's default rule is 1 ms. */
  minimumMs?: number;
}

export class DurationSchema extends Schema<DurationString> {
  constructor(readonly options: DurationOptions = {}) {
    super();
  }
  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<DurationString> {
    const ns = typeof value === 'string' ? parseDurationNs(value) : undefined;
    if (ns === undefined) {
      issues.push({ path, reason: 'must be a duration such as "1s" or "100ms"' });
      return INVALID;
    }
    const minimumMs = this.options.minimumMs ?? 1;
    if (ns < minimumMs * 1e6) {
      issues.push({ path, reason: `must be at least ${minimumMs}ms` });
    } else if (ns % 1e6 !== 0) {
      issues.push({ path, reason: 'must be a whole number of milliseconds' });
    }
    return value as DurationString;
  }
  protected shapeOpenAPI(): OpenAPISchema {
    const minimumMs = this.options.minimumMs ?? 1;
    return {
      type: 'string',
      'x-kubernetes-validations': [
        {
          rule: `duration(self) >= duration('${minimumMs}ms')`,
          message: `must be a valid duration of at least ${minimumMs}ms`,
        },
      ],
    };
  }
}

export class IntOrStringSchema extends Schema<number | string> {
  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<number | string> {
    if (typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))) {
      return value;
    }
    issues.push({ path, reason: 'must be an integer or a string' });
    return INVALID;
  }
  protected shapeOpenAPI(): OpenAPISchema {
    return { 'x-kubernetes-int-or-string': true };
  }
}

/** Any JSON value, kept as is. */
export class AnySchema extends Schema<unknown> {
  protected parseShape(value: unknown): Parsed<unknown> {
    return value;
  }
  protected shapeOpenAPI(): OpenAPISchema {
    return { 'x-kubernetes-preserve-unknown-fields': true };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets an own property even for keys such as "__proto__". */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** Any JSON object, kept as is (for opaque blocks such as a status). */
export class AnyObjectSchema extends Schema<Record<string, unknown>> {
  protected parseShape(
    value: unknown,
    path: string,
    issues: Issue[],
  ): Parsed<Record<string, unknown>> {
    if (!isRecord(value)) {
      issues.push({ path, reason: 'must be an object' });
      return INVALID;
    }
    return value;
  }
  protected shapeOpenAPI(): OpenAPISchema {
    return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  }
}

export interface ArrayOptions {
  minItems?: number;
  maxItems?: number;
}

export class ArraySchema<S extends Schema<unknown>> extends Schema<Array<Infer<S>>> {
  constructor(
    readonly item: S,
    readonly options: ArrayOptions = {},
  ) {
    super();
  }
  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<Array<Infer<S>>> {
    if (!Array.isArray(value)) {
      issues.push({ path, reason: 'must be an array' });
      return INVALID;
    }
    const { minItems, maxItems } = this.options;
    if (minItems !== undefined && value.length < minItems) {
      issues.push({
        path,
        reason: minItems === 1 ? 'must not be empty' : `must have at least ${minItems} items`,
      });
    }
    if (maxItems !== undefined && value.length > maxItems) {
      issues.push({ path, reason: `must have at most ${maxItems} items` });
    }
    const out: Array<Infer<S>> = [];
    let ok = true;
    value.forEach((item: unknown, i) => {
      const parsed = this.item._parse(item, indexPath(path, i), issues);
      if (parsed === INVALID) ok = false;
      else out.push(parsed as Infer<S>);
    });
    return ok ? out : INVALID;
  }
  protected shapeOpenAPI(): OpenAPISchema {
    return { type: 'array', items: this.item._openapi(), ...this.options };
  }
}

/** String-keyed map with values of one schema (protobuf `map<string, V>`). */
export class MapSchema<S extends Schema<unknown>> extends Schema<Record<string, Infer<S>>> {
  constructor(readonly value: S) {
    super();
  }
  protected parseShape(
    value: unknown,
    path: string,
    issues: Issue[],
  ): Parsed<Record<string, Infer<S>>> {
    if (!isRecord(value)) {
      issues.push({ path, reason: 'must be an object' });
      return INVALID;
    }
    const out: Record<string, Infer<S>> = {};
    let ok = true;
    for (const [key, item] of Object.entries(value)) {
      const parsed = this.value._parse(item, keyPath(path, key), issues);
      if (parsed === INVALID) ok = false;
      else setOwn(out, key, parsed);
    }
    return ok ? out : INVALID;
  }
  protected shapeOpenAPI(): OpenAPISchema {
    return { type: 'object', additionalProperties: this.value._openapi() };
  }
}

export type Shape = Readonly<Record<string, Schema<unknown>>>;
type Flatten<T> = { [K in keyof T]: T[K] } & {};
type OptionalKeys<S extends Shape> = {
  [K in keyof S]: S[K] extends { readonly _optional: true } ? K : never;
}[keyof S];
type RequiredKeys<S extends Shape> = Exclude<keyof S, OptionalKeys<S>>;
/** The value type of an object schema: optional fields become `?:` properties. */
export type ObjectOut<S extends Shape> = Flatten<
  { [K in RequiredKeys<S>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> }
>;

export interface ObjectOptions {
  /**
   * What to do with fields the schema does not name. 'reject' (the default, as Istio's CRDs
   * are strict) reports `unknown field`; 'ignore' drops them silently, for Kubernetes kinds
   * of which the mesh reads only a few fields.
   */
  unknownFields?: 'reject' | 'ignore';
}

export class ObjectSchema<S extends Shape> extends Schema<ObjectOut<S>> {
  constructor(
    readonly fields: S,
    readonly options: ObjectOptions = {},
  ) {
    super();
  }

  /** A new object schema with more fields (same options, checks not carried over). */
  extend<E extends Shape>(fields: E): ObjectSchema<Flatten<Omit<S, keyof E> & E>> {
    return new ObjectSchema({ ...this.fields, ...fields } as Flatten<Omit<S, keyof E> & E>, {
      ...this.options,
    });
  }

  /**
   * At most one of `keys` may be set (protobuf oneof); with `required`, exactly one.
   * A second field set is reported at its own path: `cannot be set together with <first>`.
   */
  oneOf(keys: ReadonlyArray<keyof S & string>, options: { required?: boolean } = {}): this {
    const rule = options.required ? 'Exactly one' : 'At most one';
    return this.check(
      (value, ctx) => {
        const set = keys.filter((k) => (value as Record<string, unknown>)[k] !== undefined);
        const [first, ...rest] = set;
        for (const other of rest) ctx.issue(other, `cannot be set together with ${first}`);
        if (options.required && first === undefined) {
          ctx.issue('', `one of ${keys.join(', ')} is required`);
        }
      },
      `${rule} of ${keys.join(', ')} may be set.`,
    );
  }

  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<ObjectOut<S>> {
    if (!isRecord(value)) {
      issues.push({ path, reason: 'must be an object' });
      return INVALID;
    }
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const [key, field] of Object.entries(this.fields)) {
      const fieldPath = keyPath(path, key);
      const item = Object.hasOwn(value, key) ? value[key] : undefined;
      if (item === undefined || item === null) {
        if (field instanceof DefaultSchema) {
          out[key] = structuredClone(field.defaultValue);
        } else if (!(field instanceof OptionalSchema)) {
          issues.push({ path: fieldPath, reason: 'is required' });
          ok = false;
        }
        continue;
      }
      const parsed = field._parse(item, fieldPath, issues);
      if (parsed === INVALID) ok = false;
      else out[key] = parsed;
    }
    if (this.options.unknownFields !== 'ignore') {
      for (const key of Object.keys(value)) {
        if (!Object.hasOwn(this.fields, key)) {
          issues.push({ path: keyPath(path, key), reason: 'unknown field' });
        }
      }
    }
    return ok ? (out as ObjectOut<S>) : INVALID;
  }

  protected shapeOpenAPI(): OpenAPISchema {
    const properties: Record<string, OpenAPISchema> = {};
    const required: string[] = [];
    for (const [key, field] of Object.entries(this.fields)) {
      properties[key] = field._openapi();
      if (!(field instanceof OptionalSchema) && !(field instanceof DefaultSchema)) {
        required.push(key);
      }
    }
    return {
      type: 'object',
      properties,
      ...(required.length > 0 && { required }),
      ...(this.options.unknownFields === 'ignore' && {
        'x-kubernetes-preserve-unknown-fields': true,
      }),
    };
  }
}
