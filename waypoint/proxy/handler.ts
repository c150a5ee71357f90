import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HttpRoute, RouteDestination } from '../../api/waypoint/config.js';
import { writeTraceContext } from '../../core/telemetry/tracing/context.js';
import type { Identity } from '../../core/identity/spiffe.js';
import type { Logger } from '../../core/telemetry/log.js';
import { decideFault } from '../cluster/fault.js';
import { hashKeyFor } from '../cluster/hash-key.js';
import { corsDecision } from '../router/cors.js';
import { applyHeaderOperations } from '../router/headers.js';
import { matchRoute, type RouteMatchResult } from '../router/match.js';
import type { RoutableRequest } from '../router/request.js';
import { redirectLocation, rewritePath } from '../router/rewrite.js';
import { pickDestination } from '../router/select.js';
import type { ServiceTarget, WaypointState } from '../state.js';
import type { JwksCache } from '../authn/jwks-cache.js';
import { admitRequest } from './admission.js';
import type { PathNormalization } from '../authz/normalize-path.js';
import type { RequestTracing } from '../telemetry/tracing.js';
import { RequestBody } from './body.js';
import type { Downstream } from './downstream.js';
import { forward } from './forward.js';
import { copyHeaders, type HeaderMap } from './headers.js';
import { FAULT_ABORT, NO_HEALTHY_UPSTREAM, replyLocally } from './local-reply.js';
import { mirror } from './mirror.js';
import { addFlag, type RequestDoneHook, type RequestRecord } from './record.js';
import type { Upstreams } from './upstreams.js';

/** Who sent the requests of one tunnel, and to which service. */
export interface TunnelContext {
  /** The VIP and port the tunnel's `:authority` named; routes are looked up per request. */
  readonly destination: { readonly address: string; readonly port: number };
  /** What that address served when the tunnel opened (its protocol decides HTTP or TCP). */
  readonly target: ServiceTarget;
  /** The source workload's IP: the tunnel's `forwarded: for=`, else its peer address. */
  readonly sourceAddress: string;
  /** The identity in the tunnel's client certificate; none for a client outside the mesh. */
  readonly sourceIdentity: Identity | undefined;
  /**
   * An ingress gateway's connection: the routes of each request are looked up by its Host
   * (`authority`) rather than by the tunnel's VIP.
   */
  readonly targetFor?: (authority: string) => ServiceTarget;
  /**
   * How the client connected, at an ingress gateway (its edge): redirects keep it and
   * upstream requests carry it as `x-forwarded-proto`, replacing what the client sent.
   */
  readonly scheme?: 'http' | 'https';
}

export interface HandlerContext {
  readonly state: WaypointState;
  readonly upstreams: Upstreams;
  /** Uniform in [0, 1): weights, faults, mirrors, load balancing, backoff jitter. */
  readonly random: () => number;
  readonly logger: Logger;
  readonly onRequestDone: RequestDoneHook;
  /** Keys of RequestAuthentication JWT rules. */
  readonly jwks: JwksCache;
  /** Starts each request's span when tracing is on for its service. */
  readonly tracing?: RequestTracing;
  /** MeshConfig `pathNormalization` now; absent: DECODE_AND_MERGE_SLASHES. */
  readonly pathNormalization?: () => PathNormalization;
}

/**
 * One HTTP request through the waypoint, in the order Istio's waypoint filter chain and
 * Envoy's router take it: route match (none: 404 NR), CORS, fault injection (delay DI,
 * abort FI), direct response or redirect, weighted destination, mirrors, then forwarding
 * with retries and timeouts. The record of what happened goes to `onRequestDone` once the
 * response is complete or abandoned.
 */
export async function handleRequest(
  downstream: Downstream,
  tunnel: TunnelContext,
  context: HandlerContext,
): Promise<void> {
  const started = performance.now();
  // Each request takes the routes current now, as Envoy applies a push to the next request
  // on an open connection; the tunnel only fixes which service and port it is for.
  const current =
    tunnel.targetFor === undefined
      ? context.state.target(tunnel.destination.address, tunnel.destination.port)
      : tunnel.targetFor(downstream.authority);
  const target = current ?? tunnel.target;
  const { service, port } = target;
  const { headers } = downstream;
  const record: RequestRecord = {
    service: `${service.namespace}/${service.hostname}`,
    destination: service,
    // Envoy keeps the caller's request id (the mesh trusts it) and makes one otherwise.
    requestId: firstValue(headers['x-request-id']) ?? randomUUID(),
    userAgent: firstValue(headers['user-agent']),
    forwardedFor: firstValue(headers['x-forwarded-for']),
    span: context.tracing?.start(service, headers),
    port: port.port,
    protocol: downstream.protocol,
    method: downstream.method,
    path: downstream.path,
    authority: downstream.authority,
    sourceAddress: tunnel.sourceAddress,
    sourceIdentity: tunnel.sourceIdentity,
    status: 0,
    flags: [],
    attempts: 0,
    startedAt: Date.now(),
    durationMs: 0,
    requestBytes: 0,
    responseBytes: 0,
  };
  const body = downstream.hasBody ? new RequestBody(downstream.body) : undefined;
  try {
    if (current === undefined) {
      // The service was unbound from this waypoint while the connection stayed open.
      addFlag(record, 'NR');
      replyLocally(downstream, record, 503, 'no service bound to this waypoint at that address');
    } else {
      // Path normalization, jwt_authn and RBAC run before the router, as in Envoy.
      const path = await admitRequest(downstream, tunnel, current.service, record, context);
      if (path !== undefined)
        await route(downstream, path, { ...tunnel, target: current }, context, record, body);
    }
  } catch (err) {
    context.logger.error({ err, service: record.service }, 'request handling failed');
    if (!downstream.responseStarted) replyLocally(downstream, record, 500, 'internal error');
    else downstream.reset();
  }
  await downstream.done;
  body?.dispose();
  record.requestBytes = body?.size ?? 0;
  record.durationMs = performance.now() - started;
  context.logger.debug(
    {
      service: record.service,
      route: record.route,
      cluster: record.cluster,
      endpoint: record.endpoint,
      status: record.status,
      flags: record.flags,
      attempts: record.attempts,
      durationMs: Math.round(record.durationMs),
    },
    'request done',
  );
  context.onRequestDone(record);
}

async function route(
  downstream: Downstream,
  path: string,
  tunnel: TunnelContext,
  context: HandlerContext,
  record: RequestRecord,
  body: RequestBody | undefined,
): Promise<void> {
  const request: RoutableRequest = {
    method: downstream.method.toUpperCase(),
    path,
    authority: downstream.authority,
    headers: downstream.headers,
    port: tunnel.target.port.port,
    sourceAddress: tunnel.sourceAddress,
  };
  const matched = matchRoute(tunnel.target.routes, request);
  if (matched === undefined) {
    addFlag(record, 'NR');
    replyLocally(downstream, record, 404, '');
    return;
  }
  const { route } = matched;
  record.route = route.origin;
  const cors = route.cors === undefined ? undefined : corsDecision(route.cors, request);
  if (cors?.kind === 'preflight') {
    replyLocally(downstream, record, 200, '', cors.headers);
    return;
  }
  const corsHeaders = cors?.kind === 'actual' ? cors.headers : {};
  const fault = decideFault(route.fault, context.random);
  if (fault.delayMs !== undefined) {
    addFlag(record, 'DI');
    await delay(fault.delayMs, downstream);
    if (downstream.closed) {
      addFlag(record, 'DC');
      return;
    }
  }
  if (fault.abortStatus !== undefined) {
    addFlag(record, 'FI');
    if (fault.abortGrpcStatus === undefined) {
      replyLocally(downstream, record, fault.abortStatus, FAULT_ABORT);
    } else {
      // A gRPC abort is a trailers-only gRPC response: HTTP 200 carrying the status.
      record.grpcStatus = String(fault.abortGrpcStatus);
      replyLocally(downstream, record, 200, '', {
        'content-type': 'application/grpc',
        'grpc-status': String(fault.abortGrpcStatus),
        'grpc-message': FAULT_ABORT,
      });
    }
    return;
  }
  const action = route.action;
  switch (action.kind) {
    case 'direct': {
      const headers: HeaderMap = { ...corsHeaders };
      applyHeaderOperations(headers, route.headers?.response);
      replyLocally(downstream, record, action.status, action.body ?? '', headers);
      return;
    }
    case 'redirect': {
      const location = redirectLocation(
        action.redirect,
        request,
        tunnel.scheme ?? 'http',
        matched.match,
      );
      const headers: HeaderMap = { ...corsHeaders, location };
      applyHeaderOperations(headers, route.headers?.response);
      replyLocally(downstream, record, action.redirect.status, '', headers);
      return;
    }
    case 'route': {
      const destination = pickDestination(action.destinations, context.random);
      if (destination === undefined) {
        addFlag(record, 'UH');
        replyLocally(downstream, record, 503, NO_HEALTHY_UPSTREAM);
        return;
      }
      await toDestination(downstream, request, matched, destination, corsHeaders, {
        context,
        record,
        body,
        scheme: tunnel.scheme,
      });
    }
  }
}

async function toDestination(
  downstream: Downstream,
  request: RoutableRequest,
  matched: RouteMatchResult,
  destination: RouteDestination,
  corsHeaders: Readonly<Record<string, string>>,
  {
    context,
    record,
    body,
    scheme,
  }: {
    context: HandlerContext;
    record: RequestRecord;
    body?: RequestBody;
    scheme: 'http' | 'https' | undefined;
  },
): Promise<void> {
  const { route } = matched;
  record.cluster = destination.cluster;
  const cluster = context.state.cluster(destination.cluster);
  if (cluster === undefined || cluster.cluster.problem !== undefined) {
    // A cluster that cannot be served (a missing subset, host or port: the control plane
    // reports it) answers as Envoy does for a cluster it does not have: 503 NC.
    addFlag(record, 'NC');
    replyLocally(downstream, record, 503, '');
    return;
  }
  const upstream = upstreamRequest(
    downstream,
    request.path,
    route,
    destination,
    matched,
    scheme,
    record,
  );
  const hash = hashKeyFor(cluster.cluster.policy.loadBalancer, request);
  for (const copy of route.mirrors ?? []) {
    const target = context.state.cluster(copy.cluster);
    if (target === undefined || !chance(copy.percentage, context.random)) continue;
    void mirror(target, upstream, body, route.timeoutMs, context);
  }
  await forward(
    {
      cluster,
      request: upstream,
      body,
      retries: route.retries,
      timeoutMs: route.timeoutMs,
      hashKey: hash?.key,
      decorateResponse: (headers) => {
        // Envoy applies the weighted cluster's operations, then the route's.
        applyHeaderOperations(headers, destination.headers?.response);
        applyHeaderOperations(headers, route.headers?.response);
        Object.assign(headers, corsHeaders);
        if (hash?.setCookie !== undefined) appendHeader(headers, 'set-cookie', hash.setCookie);
      },
    },
    downstream,
    record,
    context,
  );
}

/** The request as it goes upstream: rewritten path and authority, header operations applied. */
function upstreamRequest(
  downstream: Downstream,
  path: string,
  route: HttpRoute,
  destination: RouteDestination,
  matched: RouteMatchResult,
  scheme: 'http' | 'https' | undefined,
  record: RequestRecord,
): { method: string; path: string; headers: HeaderMap } {
  const headers = copyHeaders(downstream.headers);
  // Envoy applies the weighted cluster's operations, then the route's. The authority is the
  // route's rewrite, else the destination's (the compiler turns `host`/`:authority` header
  // operations into these), else the client's.
  applyHeaderOperations(headers, destination.headers?.request);
  applyHeaderOperations(headers, route.headers?.request);
  const authority = route.rewrite?.authority ?? destination.authority ?? downstream.authority;
  headers.host = authority;
  headers['x-forwarded-proto'] = scheme ?? headers['x-forwarded-proto'] ?? 'http';
  headers['x-request-id'] = record.requestId;
  // Upstream sees this hop's span as its parent, in W3C and B3 alike.
  if (record.span !== undefined) writeTraceContext(headers, record.span);
  if (downstream.hasBody && headers['content-length'] === undefined)
    headers['transfer-encoding'] = 'chunked';
  // The normalized path goes upstream, as Envoy forwards the path it matched on.
  const upstreamPath =
    route.rewrite === undefined ? path : rewritePath(route.rewrite, path, matched.match);
  return { method: downstream.method, path: upstreamPath, headers };
}

/** Istio's percentages become parts per million, drawn as Envoy's runtime fractions are. */
function chance(percentage: number, random: () => number): boolean {
  return Math.floor(random() * 1_000_000) < Math.trunc(percentage * 10_000);
}

function firstValue(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : value?.[0];
}

function appendHeader(headers: HeaderMap, name: string, value: string): void {
  const existing = headers[name];
  if (existing === undefined) headers[name] = value;
  else if (typeof existing === 'string') headers[name] = [existing, value];
  else existing.push(value);
}

/** The injected delay; cut short when the client goes away. */
async function delay(ms: number, downstream: Downstream): Promise<void> {
  const cancel = new AbortController();
  downstream.onAbort(() => cancel.abort());
  await sleep(ms, undefined, { signal: cancel.signal }).catch(() => undefined);
}
