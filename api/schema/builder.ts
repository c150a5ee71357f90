/**
 * The `s` builder: the one way resource schemas are written.
 *
 *   const port = s.integer({ minimum: 1, maximum: 65535 });
 *   const dest = s.object({ host: s.string(), port: port.optional() });
 *   type Dest = Infer<typeof dest>; // { host: string; port?: number }
 */
import {
  AnyObjectSchema,
  AnySchema,
  ArraySchema,
  BooleanSchema,
  DurationSchema,
  EnumSchema,
  IntegerSchema,
  IntOrStringSchema,
  MapSchema,
  NumberSchema,
  ObjectSchema,
  StringSchema,
} from './schema.js';
import type {
  ArrayOptions,
  DurationOptions,
  NumberOptions,
  ObjectOptions,
  Schema,
  Shape,
  StringOptions,
} from './schema.js';

export const s = {
  string: (options?: StringOptions) => new StringSchema(options),
  integer: (options?: NumberOptions) => new IntegerSchema(options),
  number: (options?: NumberOptions) => new NumberSchema(options),
  boolean: () => new BooleanSchema(),
  /** One of the given string literals (a protobuf enum in its JSON form). */
  enumOf: <const V extends string>(...values: V[]) => new EnumSchema<V>(values),
  /** A duration string, at least 1 ms and in whole milliseconds unless told otherwise. */
  duration: (options?: DurationOptions) => new DurationSchema(options),
  intOrString: () => new IntOrStringSchema(),
  array: <S extends Schema<unknown>>(item: S, options?: ArrayOptions) =>
    new ArraySchema(item, options),
  map: <S extends Schema<unknown>>(value: S) => new MapSchema(value),
  object: <S extends Shape>(fields: S, options?: ObjectOptions) =>
    new ObjectSchema(fields, options),
  /** Any JSON value, unchecked (x-kubernetes-preserve-unknown-fields). */
  any: () => new AnySchema(),
  /** Any JSON object, unchecked inside. */
  anyObject: () => new AnyObjectSchema(),
};
