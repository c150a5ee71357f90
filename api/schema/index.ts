/**
 * Ambit's schema DSL: one definition gives the TypeScript type, the runtime validation with
 * field paths, and the OpenAPI v3 structural schema for CRDs.
 *
 *   const port = s.integer({ minimum: 1, maximum: 65535 });
 *   const dest = s.object({ host: s.string(), port: port.optional() })
 *     .check((d, ctx) => { if (d.host === '*') ctx.issue('host', 'must not be "*"'); });
 *   type Dest = Infer<typeof dest>;           // { host: string; port?: number }
 *   validate(dest, value, 'spec');            // Issue[]: { path: 'spec.port', reason: ... }
 *   parse(dest, value);                       // { ok: true, value: Dest } | { ok: false, issues }
 *   toOpenAPI(dest);                          // openAPIV3Schema
 */
export { s } from './builder.js';
export { parse, validate, toOpenAPI } from './validate.js';
export type { ParseResult } from './validate.js';
export {
  Schema,
  OptionalSchema,
  DefaultSchema,
  StringSchema,
  IntegerSchema,
  NumberSchema,
  BooleanSchema,
  EnumSchema,
  DurationSchema,
  IntOrStringSchema,
  AnySchema,
  AnyObjectSchema,
  ArraySchema,
  MapSchema,
  ObjectSchema,
} from './schema.js';
export type {
  Infer,
  Issue,
  Check,
  CheckContext,
  Shape,
  ObjectOut,
  StringOptions,
  NumberOptions,
  ArrayOptions,
  ObjectOptions,
  DurationOptions,
} from './schema.js';
export type { OpenAPISchema } from './openapi-types.js';
export type { AssertTrue, SameShape } from './same-shape.js';
export { parseDurationMs, parseDurationNs, formatDurationMs, durationMs } from './duration.js';
export type { DurationString } from './duration.js';
export { compileRe2, regexProblem, MAX_REGEX_LENGTH } from './regex.js';
export {
  isDns1123Label,
  isDns1123Subdomain,
  durationProblem,
  dns1123Label,
  dns1123Subdomain,
  regex,
  duration,
  isDnsLabelAnyCase,
  isLabelKey,
  isLabelValue,
  labels,
  isIPAddress,
  isCIDR,
} from './validators.js';
export { joinPath, keyPath, indexPath, parsePath } from './path.js';
export type { PathSegment } from './path.js';
