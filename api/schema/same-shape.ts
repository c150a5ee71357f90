import type { Infer, Schema } from './schema.js';

/** A type with every `readonly` removed, deeply: what a schema's inferred type looks like. */
type Writable<T> = T extends readonly (infer E)[]
  ? Writable<E>[]
  : T extends object
    ? { -readonly [K in keyof T]: Writable<T[K]> }
    : T;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** `true` when a hand-written contract type and the schema checking it on the wire agree. */
export type SameShape<T, S extends Schema<unknown>> = Same<Writable<T>, Infer<S>>;

/**
 * Compiles only for `true`: `export type Checked = AssertTrue<SameShape<Config, typeof schema>>`
 * stops the build the moment the type and the schema drift apart.
 */
export type AssertTrue<T extends true> = T;
