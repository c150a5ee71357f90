/**
 * Schema nodes for the shapes the waypoint config uses and api/schema's builder lacks: a union
 * of objects told apart by a tag field, an object that sets exactly one of several keys, and a
 * literal. Each gives its TypeScript union through `Infer`, like the nodes in api/schema.
 */
import { keyPath } from '../schema/index.js';
import type { Infer, Issue, OpenAPISchema, Shape } from '../schema/index.js';
import { INVALID, Schema } from '../schema/schema.js';
import type { ObjectSchema, Parsed } from '../schema/schema.js';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Variants = Readonly<Record<string, ObjectSchema<Shape>>>;

/**
 * Objects that name their variant in `tag` (e.g. `kind: 'route'`); each variant's schema
 * declares the tag field itself, so the parsed value keeps it.
 */
export class TaggedUnionSchema<V extends Variants> extends Schema<Infer<V[keyof V]>> {
  constructor(
    readonly tag: string,
    readonly variants: V,
  ) {
    super();
  }

  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<Infer<V[keyof V]>> {
    if (!isRecord(value)) {
      issues.push({ path, reason: 'must be an object' });
      return INVALID;
    }
    const name = value[this.tag];
    const variant =
      typeof name === 'string' && Object.hasOwn(this.variants, name)
        ? this.variants[name]
        : undefined;
    if (variant === undefined) {
      const names = Object.keys(this.variants).join(', ');
      issues.push({ path: keyPath(path, this.tag), reason: `must be one of ${names}` });
      return INVALID;
    }
    return variant._parse(value, path, issues) as Parsed<Infer<V[keyof V]>>;
  }

  protected shapeOpenAPI(): OpenAPISchema {
    return { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
  }
}

/** `{ a: A } | { b: B } | …`: one key of `S` set, with its value. */
export type OneKey<S extends Shape> = {
  [K in keyof S]: { [P in K]: Infer<S[P]> };
}[keyof S];

/** An object that sets exactly one of the given keys (a protobuf oneof that is required). */
export class OneKeySchema<S extends Shape> extends Schema<OneKey<S>> {
  constructor(readonly fields: S) {
    super();
  }

  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<OneKey<S>> {
    if (!isRecord(value)) {
      issues.push({ path, reason: 'must be an object' });
      return INVALID;
    }
    const keys = Object.keys(value);
    let ok = true;
    for (const key of keys) {
      if (!Object.hasOwn(this.fields, key)) {
        issues.push({ path: keyPath(path, key), reason: 'unknown field' });
        ok = false;
      }
    }
    const set = keys.filter((key) => Object.hasOwn(this.fields, key));
    const [first, ...rest] = set;
    if (first === undefined) {
      issues.push({ path, reason: `must set one of ${Object.keys(this.fields).join(', ')}` });
      return INVALID;
    }
    for (const other of rest) {
      issues.push({ path: keyPath(path, other), reason: `cannot be set together with ${first}` });
    }
    const field = this.fields[first] as Schema<unknown>;
    const parsed = field._parse(value[first], keyPath(path, first), issues);
    if (parsed === INVALID || !ok || rest.length > 0) return INVALID;
    return { [first]: parsed } as OneKey<S>;
  }

  protected shapeOpenAPI(): OpenAPISchema {
    const properties: Record<string, OpenAPISchema> = {};
    for (const [key, field] of Object.entries(this.fields)) properties[key] = field._openapi();
    return { type: 'object', properties };
  }
}

/** Exactly one value, e.g. `true` in `{ sourceIp: true }`. */
export class LiteralSchema<L extends string | number | boolean> extends Schema<L> {
  constructor(readonly value: L) {
    super();
  }

  protected parseShape(value: unknown, path: string, issues: Issue[]): Parsed<L> {
    if (value !== this.value) {
      issues.push({ path, reason: `must be ${JSON.stringify(this.value)}` });
      return INVALID;
    }
    return this.value;
  }

  protected shapeOpenAPI(): OpenAPISchema {
    const value = this.value;
    return typeof value === 'boolean'
      ? { type: 'boolean' }
      : { type: typeof value === 'number' ? 'number' : 'string', enum: [value] };
  }
}

export const u = {
  tagged: <V extends Variants>(tag: string, variants: V) => new TaggedUnionSchema(tag, variants),
  oneKey: <S extends Shape>(fields: S) => new OneKeySchema(fields),
  literal: <const L extends string | number | boolean>(value: L) => new LiteralSchema(value),
};
