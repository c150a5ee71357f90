/**
 * HTTPRouteFilter (apis/v1/httproute_types.go, standard channel): a `type` and the one
 * config field that type names. Used on route rules and on backendRefs.
 */
import { s } from '../schema/index.js';
import type { CheckContext, Infer } from '../schema/index.js';
import {
  backendObjectReference,
  headerName,
  HTTP_METHODS,
  localObjectReference,
  portNumber,
  preciseHostname,
  reportDuplicates,
} from './gateway-api-common.js';

const header = s.object({ name: headerName, value: s.string({ minLength: 1, maxLength: 4096 }) });

/** Header names repeat in neither set nor add (the API server's list-map key). */
const headerList = s.array(header, { maxItems: 16 }).check((headers, ctx) => {
  reportDuplicates(
    headers,
    (h) => h.name,
    (i) => `[${i}].name`,
    (h) => `duplicate header name ${h.name}`,
    ctx,
  );
}, 'Header names are unique.');

export const headerFilter = s.object({
  set: headerList.optional(),
  add: headerList.optional(),
  remove: s
    .array(s.string(), { maxItems: 16 })
    .check((names, ctx) => {
      reportDuplicates(
        names,
        (n) => n,
        (i) => `[${i}]`,
        (n) => `duplicate header name ${n}`,
        ctx,
      );
    }, 'Names are unique.')
    .optional(),
});
export type HTTPHeaderFilter = Infer<typeof headerFilter>;

/** HTTPPathModifier: the type names which of the two replacement fields is set. */
export const pathModifier = s
  .object({
    type: s.enumOf('ReplaceFullPath', 'ReplacePrefixMatch'),
    replaceFullPath: s.string({ maxLength: 1024 }).optional(),
    replacePrefixMatch: s.string({ maxLength: 1024 }).optional(),
  })
  .check((p, ctx) => {
    for (const field of ['replaceFullPath', 'replacePrefixMatch'] as const) {
      const wanted = field === 'replaceFullPath' ? 'ReplaceFullPath' : 'ReplacePrefixMatch';
      if (p.type === wanted && p[field] === undefined) {
        ctx.issue(field, `must be specified when type is ${wanted}`);
      }
      if (p.type !== wanted && p[field] !== undefined) {
        ctx.issue(field, `must not be set when type is ${p.type}`);
      }
    }
  }, 'The field named by type is set, and only that one.');
export type HTTPPathModifier = Infer<typeof pathModifier>;

export const requestRedirect = s.object({
  scheme: s.enumOf('http', 'https').optional(),
  hostname: preciseHostname.optional(),
  path: pathModifier.optional(),
  port: portNumber.optional(),
  statusCode: s
    .integer()
    .check((code, ctx) => {
      if (![301, 302, 303, 307, 308].includes(code)) {
        ctx.issue('', 'must be one of 301, 302, 303, 307, 308');
      }
    }, 'One of 301, 302, 303, 307, 308.')
    .default(302),
});
export type HTTPRequestRedirectFilter = Infer<typeof requestRedirect>;

export const urlRewrite = s.object({
  hostname: preciseHostname.optional(),
  path: pathModifier.optional(),
});
export type HTTPURLRewriteFilter = Infer<typeof urlRewrite>;

export const requestMirror = s
  .object({
    backendRef: backendObjectReference,
    percent: s.integer({ minimum: 0, maximum: 100, format: 'int32' }).optional(),
    fraction: s
      .object({
        numerator: s.integer({ minimum: 0, format: 'int32' }),
        denominator: s.integer({ minimum: 1, format: 'int32' }).default(100),
      })
      .check((f, ctx) => {
        if (f.numerator > f.denominator) {
          ctx.issue('numerator', 'must be less than or equal to denominator');
        }
      }, 'numerator ≤ denominator.')
      .optional(),
  })
  .oneOf(['percent', 'fraction']);
export type HTTPRequestMirrorFilter = Infer<typeof requestMirror>;

const ORIGIN =
  /(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+|\*)(:([0-9]{1,5}))?)$)/;

/** A set in which "*" must stand alone. */
function starAlone(list: readonly string[], ctx: CheckContext, what: string): void {
  if (list.includes('*') && list.length > 1)
    ctx.issue('', `${what} cannot contain "*" alongside other values`);
  reportDuplicates(
    list,
    (v) => v,
    (i) => `[${i}]`,
    (v) => `duplicate value ${v}`,
    ctx,
  );
}

export const cors = s.object({
  allowOrigins: s
    .array(
      s.string({
        minLength: 1,
        maxLength: 253,
        pattern: ORIGIN,
        patternReason: 'must be "*" or an origin such as https://example.com',
      }),
      { maxItems: 64 },
    )
    .check((v, ctx) => starAlone(v, ctx, 'allowOrigins'), '"*" stands alone.')
    .optional(),
  allowCredentials: s.boolean().optional(),
  allowMethods: s
    .array(s.enumOf(...HTTP_METHODS, '*'), { maxItems: 9 })
    .check((v, ctx) => starAlone(v, ctx, 'allowMethods'), '"*" stands alone.')
    .optional(),
  allowHeaders: s
    .array(headerName, { maxItems: 64 })
    .check((v, ctx) => starAlone(v, ctx, 'allowHeaders'), '"*" stands alone.')
    .optional(),
  exposeHeaders: s.array(headerName, { maxItems: 64 }).optional(),
  maxAge: s.integer({ minimum: 1, format: 'int32' }).default(5),
});
export type HTTPCORSFilter = Infer<typeof cors>;

export const FILTER_TYPES = [
  'RequestHeaderModifier',
  'ResponseHeaderModifier',
  'RequestMirror',
  'RequestRedirect',
  'URLRewrite',
  'ExtensionRef',
  'CORS',
] as const;
export type HTTPRouteFilterType = (typeof FILTER_TYPES)[number];

/** The config field each filter type takes. */
const CONFIG_FIELD = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  ExtensionRef: 'extensionRef',
  CORS: 'cors',
} as const satisfies Record<HTTPRouteFilterType, string>;

export const httpRouteFilter = s
  .object({
    type: s.enumOf(...FILTER_TYPES),
    requestHeaderModifier: headerFilter.optional(),
    responseHeaderModifier: headerFilter.optional(),
    requestMirror: requestMirror.optional(),
    requestRedirect: requestRedirect.optional(),
    urlRewrite: urlRewrite.optional(),
    extensionRef: localObjectReference.optional(),
    cors: cors.optional(),
  })
  .check((f, ctx) => {
    for (const type of FILTER_TYPES) {
      const field = CONFIG_FIELD[type];
      if (f.type === type && f[field] === undefined) {
        ctx.issue(field, `must be specified for filter type ${type}`);
      }
      if (f.type !== type && f[field] !== undefined) {
        ctx.issue(field, `must not be set when the filter type is ${f.type}`);
      }
    }
  }, 'The config field named by type is set, and no other.');
export type HTTPRouteFilter = Infer<typeof httpRouteFilter>;

/** Types that may appear at most once in one filter list. */
const SINGLE_USE: readonly HTTPRouteFilterType[] = [
  'CORS',
  'RequestHeaderModifier',
  'ResponseHeaderModifier',
  'RequestRedirect',
  'URLRewrite',
];

/** A rule's or backend's filters: at most 16, no repeats, not both redirect and rewrite. */
export const httpRouteFilters = s.array(httpRouteFilter, { maxItems: 16 }).check((filters, ctx) => {
  const types = filters.map((f) => f.type);
  if (types.includes('RequestRedirect') && types.includes('URLRewrite')) {
    ctx.issue('', 'may specify either a RequestRedirect or a URLRewrite filter, but not both');
  }
  const seen = new Set<HTTPRouteFilterType>();
  types.forEach((type, i) => {
    if (SINGLE_USE.includes(type) && seen.has(type)) {
      ctx.issue(`[${i}].type`, `${type} filter cannot be repeated`);
    }
    seen.add(type);
  });
}, 'RequestRedirect and URLRewrite exclude each other; only RequestMirror and ExtensionRef repeat.');
