import { INVALID } from './schema.js';
import type { Infer, Issue, Schema } from './schema.js';
import type { OpenAPISchema } from './openapi-types.js';

export type ParseResult<T> = { ok: true; value: T; issues: [] } | { ok: false; issues: Issue[] };

/**
 * Checks `value` against `schema` and returns it in the schema's type (absent optional
 * fields and nulls dropped, defaults filled), or every issue found. Never throws.
 * `path` prefixes every issue path, e.g. 'spec'.
 */
export function parse<S extends Schema<unknown>>(
  schema: S,
  value: unknown,
  path = '',
): ParseResult<Infer<S>> {
  const issues: Issue[] = [];
  const out = schema._parse(value, path, issues);
  if (out === INVALID || issues.length > 0) return { ok: false, issues };
  return { ok: true, value: out as Infer<S>, issues: [] };
}

/** Every issue of `value` against `schema` (empty when valid). Never throws. */
export function validate(schema: Schema<unknown>, value: unknown, path = ''): Issue[] {
  const issues: Issue[] = [];
  schema._parse(value, path, issues);
  return issues;
}

/** The OpenAPI v3 structural schema of `schema`, usable as a CRD's openAPIV3Schema. */
export function toOpenAPI(schema: Schema<unknown>): OpenAPISchema {
  return schema._openapi();
}
