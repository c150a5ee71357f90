/**
 * The parts of a VirtualService HTTP route besides its matches and destinations, as Istio's
 * route.go translates them: redirect (301 unless set), direct response, rewrite (`uri` is
 * Envoy's prefix_rewrite), fault injection (a missing percentage is 0 %: Envoy reads an unset
 * FractionalPercent as 0), CORS.
 */
import { durationMs, parseDurationNs } from '../../api/schema/index.js';
import {
  GRPC_STATUS_NAMES,
  type CorsPolicy as IstioCorsPolicy,
  type HTTPDirectResponse,
  type HTTPFaultInjection,
  type HTTPRedirect,
  type HTTPRewrite,
} from '../../api/resources/index.js';
import type {
  CorsPolicy,
  FaultInjection,
  Redirect,
  RouteAction,
  Rewrite,
} from '../../api/waypoint/config.js';
import { compact } from './compact.js';
import { stringMatch } from './vs-match.js';

export function redirectAction(redirect: HTTPRedirect): RouteAction {
  const derivePort =
    redirect.derivePort === 'FROM_REQUEST_PORT'
      ? 'request'
      : redirect.derivePort === 'FROM_PROTOCOL_DEFAULT'
        ? 'protocol'
        : undefined;
  const out: Redirect = compact({
    uri: redirect.uri,
    prefixRewrite: redirect.prefixRewrite,
    authority: redirect.authority,
    scheme: redirect.scheme,
    port: redirect.port,
    derivePort,
    status: redirect.redirectCode ?? 301,
  });
  return { kind: 'redirect', redirect: out };
}

export function directAction(response: HTTPDirectResponse): RouteAction {
  const { body } = response;
  const text =
    body?.string ??
    (body?.bytes === undefined ? undefined : Buffer.from(body.bytes, 'base64').toString('utf8'));
  return compact({ kind: 'direct' as const, status: response.status, body: text });
}

/** `authority` is what the route's headers already rewrite it to; `rewrite.authority` wins. */
export function translateRewrite(
  rewrite: HTTPRewrite | undefined,
  authority: string | undefined,
): Rewrite | undefined {
  const out: Rewrite = compact({
    prefix: rewrite?.uriRegexRewrite === undefined && rewrite?.uri ? rewrite.uri : undefined,
    uriRegex: rewrite?.uriRegexRewrite && {
      match: rewrite.uriRegexRewrite.match,
      rewrite: rewrite.uriRegexRewrite.rewrite,
    },
    authority: rewrite?.authority || authority,
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

export function translateFault(fault: HTTPFaultInjection | undefined): FaultInjection | undefined {
  if (fault === undefined) return undefined;
  const { delay, abort } = fault;
  const out: FaultInjection = compact({
    delay: delay?.fixedDelay && {
      fixedDelayMs: durationMs(delay.fixedDelay),
      percentage: delay.percentage?.value ?? delay.percent ?? 0,
    },
    abort:
      abort &&
      (abort.grpcStatus !== undefined
        ? {
            httpStatus: 200,
            grpcStatus: GRPC_STATUS_NAMES.indexOf(abort.grpcStatus),
            percentage: abort.percentage?.value ?? 0,
          }
        : abort.httpStatus !== undefined
          ? { httpStatus: abort.httpStatus, percentage: abort.percentage?.value ?? 0 }
          : undefined),
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

export function translateCors(cors: IstioCorsPolicy | undefined): CorsPolicy | undefined {
  if (cors === undefined) return undefined;
  const origins =
    cors.allowOrigins !== undefined
      ? cors.allowOrigins.flatMap((m) => {
          const match = stringMatch(m);
          return match === undefined ? [] : [match];
        })
      : (cors.allowOrigin ?? []).map((exact) => ({ exact }));
  return compact({
    allowOrigins: origins,
    allowMethods: [...(cors.allowMethods ?? [])],
    allowHeaders: [...(cors.allowHeaders ?? [])],
    exposeHeaders: [...(cors.exposeHeaders ?? [])],
    maxAgeSeconds:
      cors.maxAge === undefined ? undefined : Math.floor((parseDurationNs(cors.maxAge) ?? 0) / 1e9),
    allowCredentials: cors.allowCredentials,
  });
}
