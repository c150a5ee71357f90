/**
 * VirtualService (networking.istio.io): every field of istio/api virtual_service.proto in
 * its JSON form, with the rules of Istio's ValidateVirtualService.
 */
import { isDnsLabelAnyCase, isIPAddress, keyPath, parseDurationNs, s } from '../schema/index.js';
import type { Check, CheckContext, Infer } from '../schema/index.js';
import {
  authorityFromHeaders,
  destination,
  exportTo,
  faultPercent,
  headers,
  labelMap,
  percent,
  portNumber,
  regexCheck,
  stringMatch,
} from './networking-common.js';
import {
  gatewayNameProblem,
  hostSubsetOf,
  hostsOverlap,
  wildcardDomainProblem,
} from './networking-hosts.js';

/** The retryOn tokens Envoy understands (x-envoy-retry-on and x-envoy-retry-grpc-on). */
export const RETRY_ON_POLICIES: ReadonlySet<string> = new Set([
  '5xx',
  'gateway-error',
  'reset',
  'reset-before-request',
  'connect-failure',
  'retriable-4xx',
  'refused-stream',
  'retriable-status-codes',
  'retriable-headers',
  'envoy-ratelimited',
  'http3-post-connect-failure',
  'cancelled',
  'deadline-exceeded',
  'internal',
  'resource-exhausted',
  'unavailable',
]);

/** gRPC status names accepted by fault.abort.grpcStatus. */
export const GRPC_STATUS_NAMES: readonly string[] = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
];

const CORS_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'PATCH',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  '*',
]);

// RFC 9110 token characters: what a header name may contain.
const HEADER_TOKEN = /^[!#$%&'*+\-.^_`|~A-Za-z0-9]+$/;
const PSEUDO_HEADERS = new Set([':method', ':scheme', ':authority', ':path', ':status']);
const JWT_CLAIM_PREFIX = '@request.auth.claims';

/** A header name in a match: a token, a pseudo-header, or a JWT claim reference. */
function matchHeaderNameProblem(name: string): string | undefined {
  if (name === '') return 'header names must not be empty';
  if (name.startsWith(JWT_CLAIM_PREFIX) || PSEUDO_HEADERS.has(name)) return undefined;
  if (!HEADER_TOKEN.test(name)) return 'must be a valid header name';
  return undefined;
}

const matchHeaders = (options: { allowStarRegex: boolean }) =>
  s.map(stringMatch(options)).check((value, ctx) => {
    for (const name of Object.keys(value)) {
      const problem = matchHeaderNameProblem(name);
      if (problem !== undefined) ctx.issue(keyPath('', name), problem);
    }
  });

const sourceNamespace = s.string().check((value, ctx) => {
  if (!isDnsLabelAnyCase(value)) {
    ctx.issue('', 'must be a namespace name (a DNS-1123 label)');
  }
});

const gatewayNames = s.array(
  s.string().check((value, ctx) => {
    const problem = gatewayNameProblem(value);
    if (problem !== undefined) ctx.issue('', problem);
  }, 'Gateway references are "mesh", "<name>" or "<namespace>/<name>".'),
);

const subnet = s.string().check((value, ctx) => {
  const slash = value.indexOf('/');
  const ip = slash < 0 ? value : value.slice(0, slash);
  const bits = slash < 0 ? '' : value.slice(slash + 1);
  const max = ip.includes(':') ? 128 : 32;
  const bitsOk = slash < 0 || (/^[0-9]{1,3}$/.test(bits) && Number(bits) <= max);
  if (!isIPAddress(ip) || !bitsOk) ctx.issue('', 'must be an IP address or a CIDR block');
});

export const httpMatchRequest = s.object({
  name: s.string().optional(),
  uri: stringMatch({ allowEmptyPrefix: true }).optional(),
  scheme: stringMatch().optional(),
  method: stringMatch().optional(),
  authority: stringMatch().optional(),
  headers: matchHeaders({ allowStarRegex: false }).optional(),
  port: portNumber.optional(),
  sourceLabels: labelMap.optional(),
  gateways: gatewayNames.optional(),
  queryParams: s.map(stringMatch()).optional(),
  ignoreUriCase: s.boolean().optional(),
  withoutHeaders: matchHeaders({ allowStarRegex: true }).optional(),
  sourceNamespace: sourceNamespace.optional(),
  statPrefix: s.string().optional(),
});
export type HTTPMatchRequest = Infer<typeof httpMatchRequest>;

/** Weights are non-negative; more than one destination may not all weigh 0. */
function weightedDestinations<S extends { weight?: number }>(): Check<S[]> {
  return (routes, ctx) => {
    const total = routes.reduce((sum, r) => sum + (r.weight ?? 0), 0);
    if (routes.length > 1 && total === 0) {
      ctx.issue('', 'weights must not all be 0 when there is more than one destination');
    }
  };
}

const WEIGHT_NOTE = 'With more than one destination, the weights must not all be 0.';

export const httpRouteDestination = s.object({
  destination,
  weight: s.integer({ minimum: 0, format: 'int32' }).optional(),
  headers: headers.optional(),
});
export type HTTPRouteDestination = Infer<typeof httpRouteDestination>;

export const routeDestination = s.object({
  destination,
  weight: s.integer({ minimum: 0, format: 'int32' }).optional(),
});
export type RouteDestination = Infer<typeof routeDestination>;

export const httpRedirect = s
  .object({
    uri: s.string().optional(),
    authority: s.string().optional(),
    port: portNumber.optional(),
    derivePort: s.enumOf('FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT').optional(),
    scheme: s.string().optional(),
    redirectCode: s.integer({ minimum: 300, maximum: 399 }).optional(),
    prefixRewrite: s.string().optional(),
  })
  .oneOf(['port', 'derivePort'])
  .check((r, ctx) => {
    if (r.uri && r.prefixRewrite) ctx.issue('prefixRewrite', 'cannot be set together with uri');
    if (
      !r.uri &&
      !r.prefixRewrite &&
      !r.authority &&
      !r.scheme &&
      r.port === undefined &&
      !r.derivePort
    ) {
      ctx.issue('', 'must set uri, prefixRewrite, authority, scheme or port');
    }
    if (r.scheme && r.scheme !== 'http' && r.scheme !== 'https') {
      ctx.issue('scheme', 'must be "http" or "https"');
    }
  }, 'Sets one of uri/prefixRewrite, and at least one of them, authority, scheme or port.');
export type HTTPRedirect = Infer<typeof httpRedirect>;

const MAX_DIRECT_RESPONSE_BODY = 1024 * 1024;

export const httpDirectResponse = s.object({
  status: s.integer({ minimum: 200, maximum: 600 }),
  body: s
    .object({
      string: s.string().optional(),
      bytes: s.string({ format: 'byte' }).optional(),
    })
    .oneOf(['string', 'bytes'])
    .check((b, ctx) => {
      const size = b.string !== undefined ? Buffer.byteLength(b.string) : (b.bytes?.length ?? 0);
      if (size > MAX_DIRECT_RESPONSE_BODY) ctx.issue('', 'must be smaller than 1MB');
    }, 'At most 1MB.')
    .optional(),
});
export type HTTPDirectResponse = Infer<typeof httpDirectResponse>;

export const httpRewrite = s
  .object({
    uri: s.string().optional(),
    authority: s.string().optional(),
    uriRegexRewrite: s
      .object({
        match: s.string().check(regexCheck, 'An RE2 regular expression.'),
        rewrite: s.string(),
      })
      .optional(),
  })
  .check((r, ctx) => {
    if (r.uri && r.uriRegexRewrite) ctx.issue('uriRegexRewrite', 'cannot be set together with uri');
    if (!r.uri && !r.uriRegexRewrite && !r.authority) {
      ctx.issue('', 'must set uri, uriRegexRewrite or authority');
    }
  }, 'At most one of uri and uriRegexRewrite; at least one of them or authority.');
export type HTTPRewrite = Infer<typeof httpRewrite>;

const retryOn = s.string().check((value, ctx) => {
  for (const token of value.split(',')) {
    const isStatus = /^[1-5][0-9][0-9]$/.test(token);
    if (!isStatus && !RETRY_ON_POLICIES.has(token)) {
      ctx.issue('', `"${token}" is not a valid retryOn policy`);
    }
  }
}, 'Comma-separated Envoy retry policies (HTTP and gRPC) or HTTP status codes.');

export const httpRetry = s
  .object({
    attempts: s.integer({ minimum: 0, maximum: 2147483647, format: 'int32' }).optional(),
    perTryTimeout: s.duration().optional(),
    retryOn: retryOn.optional(),
    retryRemoteLocalities: s.boolean().optional(),
    retryIgnorePreviousHosts: s.boolean().optional(),
    backoff: s.duration().optional(),
  })
  .check((r, ctx) => {
    // An absent attempts is 0 in proto3, and 0 disables retries.
    if (!r.attempts) {
      for (const field of ['perTryTimeout', 'retryOn', 'retryRemoteLocalities'] as const) {
        if (r[field] !== undefined) {
          ctx.issue(field, 'cannot be set when attempts is 0 (retries disabled)');
        }
      }
    }
  }, 'perTryTimeout, retryOn and retryRemoteLocalities need attempts > 0.');
export type HTTPRetry = Infer<typeof httpRetry>;

export const corsPolicy = s.object({
  allowOrigin: s.array(s.string()).optional(),
  allowOrigins: s
    .array(
      stringMatch().check((m, ctx) => {
        if (!m.exact && !m.prefix && !m.regex) ctx.issue('', 'must set exact, prefix or regex');
      }),
    )
    .optional(),
  allowMethods: s
    .array(
      s.string().check((value, ctx) => {
        if (!CORS_METHODS.has(value)) ctx.issue('', 'must be an HTTP method or "*"');
      }),
    )
    .optional(),
  allowHeaders: s.array(s.string().check(corsHeaderName)).optional(),
  exposeHeaders: s.array(s.string().check(corsHeaderName)).optional(),
  maxAge: s
    .duration()
    .check((value, ctx) => {
      if ((parseDurationNs(value) ?? 0) % 1e9 !== 0) {
        ctx.issue('', 'must be a whole number of seconds');
      }
    }, 'Whole seconds.')
    .optional(),
  allowCredentials: s.boolean().optional(),
  unmatchedPreflights: s.enumOf('UNSPECIFIED', 'FORWARD', 'IGNORE').optional(),
});
export type CorsPolicy = Infer<typeof corsPolicy>;

function corsHeaderName(value: string, ctx: CheckContext): void {
  if (value !== '*' && !HEADER_TOKEN.test(value)) ctx.issue('', 'must be a valid header name');
}

export const httpFaultInjection = s
  .object({
    delay: s
      .object({
        fixedDelay: s.duration().optional(),
        exponentialDelay: s
          .duration()
          .check((_v, ctx) => ctx.issue('', 'is not supported yet'))
          .optional(),
        percentage: faultPercent.optional(),
        percent: s.integer({ minimum: 0, maximum: 100 }).optional(),
      })
      .oneOf(['fixedDelay', 'exponentialDelay'])
      .optional(),
    abort: s
      .object({
        httpStatus: s.integer({ minimum: 200, maximum: 600 }).optional(),
        grpcStatus: s
          .string()
          .check((value, ctx) => {
            if (!GRPC_STATUS_NAMES.includes(value)) {
              ctx.issue('', 'must be a gRPC status name such as NOT_FOUND');
            }
          })
          .optional(),
        http2Error: s
          .string()
          .check((_v, ctx) => ctx.issue('', 'is not supported yet'))
          .optional(),
        percentage: faultPercent.optional(),
      })
      .oneOf(['httpStatus', 'grpcStatus', 'http2Error'])
      .optional(),
  })
  .check((f, ctx) => {
    if (f.delay === undefined && f.abort === undefined) ctx.issue('', 'must set delay or abort');
  }, 'Needs delay, abort or both.');
export type HTTPFaultInjection = Infer<typeof httpFaultInjection>;

export const httpMirrorPolicy = s.object({
  destination,
  percentage: percent.optional(),
});
export type HTTPMirrorPolicy = Infer<typeof httpMirrorPolicy>;

export const delegate = s.object({
  name: s.string().optional(),
  namespace: s.string().optional(),
});

const httpRouteFields = s.object({
  name: s.string().optional(),
  match: s.array(httpMatchRequest).optional(),
  route: s.array(httpRouteDestination).check(weightedDestinations(), WEIGHT_NOTE).optional(),
  redirect: httpRedirect.optional(),
  directResponse: httpDirectResponse.optional(),
  delegate: delegate.optional(),
  rewrite: httpRewrite.optional(),
  timeout: s.duration().optional(),
  retries: httpRetry.optional(),
  fault: httpFaultInjection.optional(),
  mirror: destination.optional(),
  mirrors: s.array(httpMirrorPolicy).optional(),
  mirrorPercent: s.integer({ minimum: 0, maximum: 100 }).optional(),
  mirror_percent: s.integer({ minimum: 0, maximum: 100 }).optional(),
  mirrorPercentage: percent.optional(),
  corsPolicy: corsPolicy.optional(),
  headers: headers.optional(),
});

function httpRouteRules(r: Infer<typeof httpRouteFields>, ctx: CheckContext): void {
  const hasRoute = r.route !== undefined && r.route.length > 0;
  if (r.delegate !== undefined) {
    // A route that delegates hands its traffic to another VirtualService.
    if (r.redirect !== undefined) ctx.issue('redirect', 'cannot be set together with delegate');
    if (r.route !== undefined) ctx.issue('route', 'cannot be set together with delegate');
  } else if (r.redirect !== undefined) {
    if (hasRoute) ctx.issue('route', 'cannot be set together with redirect');
    if (r.fault !== undefined) ctx.issue('fault', 'cannot be set together with redirect');
    if (r.rewrite !== undefined) ctx.issue('rewrite', 'cannot be set together with redirect');
    if (r.directResponse !== undefined) {
      ctx.issue('directResponse', 'cannot be set together with redirect');
    }
  } else if (r.directResponse !== undefined) {
    if (hasRoute) ctx.issue('route', 'cannot be set together with directResponse');
    if (r.fault !== undefined) ctx.issue('fault', 'cannot be set together with directResponse');
    if (r.rewrite !== undefined) ctx.issue('rewrite', 'cannot be set together with directResponse');
  } else if (!hasRoute) {
    ctx.issue('', 'must set route, redirect, directResponse or delegate');
  }
  if (r.mirror !== undefined && r.mirrors !== undefined && r.mirrors.length > 0) {
    ctx.issue('mirrors', 'cannot be set together with mirror');
  }
  if (r.redirect?.prefixRewrite) {
    r.match?.forEach((m, i) => {
      if (m.uri !== undefined && m.uri.prefix === undefined) {
        ctx.issue(`match[${i}].uri`, 'must be a prefix match when redirect.prefixRewrite is set');
      }
    });
  }
  // The authority may be rewritten in one place only.
  const authorities = [
    ...(r.rewrite?.authority ? [r.rewrite.authority] : []),
    ...authorityFromHeaders(r.headers),
  ];
  if (authorities.length > 1) {
    ctx.issue('headers', 'the authority (host) header is rewritten more than once');
  }
}

export const httpRoute = httpRouteFields.check(
  httpRouteRules,
  'Needs route, redirect, directResponse or delegate. redirect and directResponse exclude ' +
    'route, rewrite and fault; mirror excludes mirrors; a delegating route has no route or ' +
    'redirect; prefixRewrite redirects need prefix URI matches.',
);
export type HTTPRoute = Infer<typeof httpRoute>;

const l4Match = {
  destinationSubnets: s.array(subnet).optional(),
  port: portNumber.optional(),
  sourceLabels: labelMap.optional(),
  gateways: gatewayNames.optional(),
  sourceNamespace: sourceNamespace.optional(),
};

export const tlsMatchAttributes = s.object({
  sniHosts: s.array(s.string(), { minItems: 1 }),
  ...l4Match,
});
export type TLSMatchAttributes = Infer<typeof tlsMatchAttributes>;

export const l4MatchAttributes = s.object({
  ...l4Match,
  sourceSubnet: subnet.optional(),
});
export type L4MatchAttributes = Infer<typeof l4MatchAttributes>;

export const tlsRoute = s.object({
  match: s.array(tlsMatchAttributes, { minItems: 1 }),
  route: s.array(routeDestination, { minItems: 1 }).check(weightedDestinations(), WEIGHT_NOTE),
});
export type TLSRoute = Infer<typeof tlsRoute>;

export const tcpRoute = s.object({
  match: s.array(l4MatchAttributes).optional(),
  route: s.array(routeDestination, { minItems: 1 }).check(weightedDestinations(), WEIGHT_NOTE),
});
export type TCPRoute = Infer<typeof tcpRoute>;

const MESH_GATEWAY = 'mesh';

export const virtualServiceSpec = s
  .object({
    hosts: s.array(s.string()).optional(),
    gateways: gatewayNames.optional(),
    http: s.array(httpRoute).optional(),
    tls: s.array(tlsRoute).optional(),
    tcp: s.array(tcpRoute).optional(),
    exportTo: exportTo(false).optional(),
  })
  .check(
    (vs, ctx) => {
      const hosts = vs.hosts ?? [];
      const gateways = vs.gateways ?? [];
      // Without hosts, this is a delegate: only HTTP routes, bound to no gateway.
      if (hosts.length === 0) {
        if (gateways.length > 0) ctx.issue('gateways', 'must be empty in a delegate (no hosts)');
        if ((vs.tls ?? []).length > 0) ctx.issue('tls', 'must be empty in a delegate (no hosts)');
        if ((vs.tcp ?? []).length > 0) ctx.issue('tcp', 'must be empty in a delegate (no hosts)');
      }
      const appliesToMesh = gateways.length === 0 || gateways.includes(MESH_GATEWAY);
      let allHostsValid = true;
      hosts.forEach((host, i) => {
        const problem = wildcardDomainProblem(host);
        if (problem !== undefined && !isIPAddress(host)) {
          ctx.issue(`hosts[${i}]`, problem);
          allHostsValid = false;
        } else if (host === '*' && appliesToMesh) {
          ctx.issue(`hosts[${i}]`, '"*" is not allowed for virtual services bound to the mesh');
          allHostsValid = false;
        }
      });
      if (allHostsValid) {
        for (let i = 0; i < hosts.length; i++) {
          for (let j = i + 1; j < hosts.length; j++) {
            if (hostsOverlap(hosts[i] ?? '', hosts[j] ?? '')) {
              ctx.issue(`hosts[${j}]`, `duplicates hosts[${i}] (${hosts[i]})`);
            }
          }
        }
      }
      if (!vs.http?.length && !vs.tcp?.length && !vs.tls?.length) {
        ctx.issue('', 'must set http, tcp or tls routes');
      }
      vs.tls?.forEach((route, i) =>
        route.match.forEach((m, j) =>
          m.sniHosts.forEach((sni, k) => {
            const at = `tls[${i}].match[${j}].sniHosts[${k}]`;
            const problem = wildcardDomainProblem(sni);
            if (problem !== undefined) ctx.issue(at, problem);
            else if (!hosts.some((h) => hostSubsetOf(sni, h))) {
              ctx.issue(at, 'must be covered by one of the virtual service hosts');
            }
          }),
        ),
      );
      if (!appliesToMesh) return;
      // JWT claim routing works only at gateways, where the JWT has been checked.
      vs.http?.forEach((route, i) =>
        route.match?.forEach((m, j) => {
          for (const field of ['headers', 'withoutHeaders'] as const) {
            for (const name of Object.keys(m[field] ?? {})) {
              if (name.startsWith(JWT_CLAIM_PREFIX)) {
                ctx.issue(
                  keyPath(`http[${i}].match[${j}].${field}`, name),
                  'JWT claim routing is only supported for gateways',
                );
              }
            }
          }
        }),
      );
    },
    'hosts are DNS names or IPs without duplicates ("*" only for gateways); no hosts means a ' +
      'delegate with neither gateways nor tls/tcp routes; at least one http, tcp or tls ' +
      'route; SNI hosts are covered by the hosts.',
  );
export type VirtualServiceSpec = Infer<typeof virtualServiceSpec>;
