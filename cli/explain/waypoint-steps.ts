/**
 * Step 4 (and 5, L7): the request at the waypoint, decided by the waypoint's own router on
 * the routes and clusters a waypoint holds: the route matched and why each earlier one did
 * not, fault injection, retries and timeout, weighted destinations with their subsets,
 * endpoints and load balancer, mirrors. Then the hops the waypoint may tunnel to.
 */
import type {
  Cluster,
  HttpRoute,
  LoadBalancer,
  RouteDestination,
  WaypointService,
} from '../../api/waypoint/config.js';
import { explainRoutes, matchRoute } from '../../waypoint/router/match.js';
import type { RoutableRequest } from '../../waypoint/router/request.js';
import { redirectLocation } from '../../waypoint/router/rewrite.js';
import type { ServiceTarget } from '../../waypoint/state.js';
import type { Hop } from './destination.js';
import type { AuthorizationDecision, Outcome, Step, WeightedDestination } from './explanation.js';
import type { MeshView } from './mesh-view.js';

/**
 * L7 authorization at the waypoint: the waypoint's pure evaluator plugs in here
 * (`waypoint-authorizer.ts`, passed by cli/commands/explain.ts) and the step reports its
 * decision; a denial ends the request with 403.
 */
export type WaypointAuthorizer = (input: {
  readonly service: WaypointService;
  readonly request: RoutableRequest;
  readonly sourceIdentity: string | undefined;
}) => AuthorizationDecision;

export interface WaypointResult {
  readonly steps: Step[];
  /** Set when the waypoint answers (or fails) without reaching a workload. */
  readonly outcome?: Outcome;
  /** The endpoints the waypoint may tunnel to, for the node tunnel's decision. */
  readonly hops: readonly Hop[];
  readonly retries?: HttpRoute['retries'];
  /** A decision taken by chance on the way (a fault below 100%, several destinations). */
  readonly chance?: string;
}

function describeLoadBalancer(lb: LoadBalancer): string {
  if (lb.kind !== 'CONSISTENT_HASH') return lb.kind;
  const on = lb.hashOn;
  if ('header' in on) return `CONSISTENT_HASH on header ${on.header}`;
  if ('cookie' in on) return `CONSISTENT_HASH on cookie ${on.cookie.name}`;
  if ('queryParameter' in on) return `CONSISTENT_HASH on query parameter ${on.queryParameter}`;
  return 'CONSISTENT_HASH on source IP';
}

function percentOf(weight: number, total: number): number {
  return total === 0 ? 0 : Math.round((weight / total) * 10_000) / 100;
}

function weighted(
  view: MeshView,
  d: RouteDestination,
  total: number,
  cluster: Cluster | undefined,
): WeightedDestination {
  const [, portText, subset, host] = d.cluster.split('|');
  return {
    cluster: d.cluster,
    host: cluster?.host ?? host ?? '',
    port: cluster?.port ?? Number(portText),
    ...((cluster?.subset ?? subset) ? { subset: cluster?.subset ?? subset } : {}),
    percent: percentOf(Math.max(d.weight, 0), total),
    loadBalancer:
      cluster === undefined ? 'none' : describeLoadBalancer(cluster.policy.loadBalancer),
    endpoints: (cluster?.endpoints ?? []).map((e) =>
      view.endpointRef(e.address, e.port, e.healthy),
    ),
    ...(cluster === undefined
      ? { problem: 'the waypoint has no such cluster' }
      : cluster.problem !== undefined && { problem: cluster.problem }),
  };
}

function routeStep(
  routes: readonly HttpRoute[],
  request: RoutableRequest,
  protocol: string,
): Extract<Step, { kind: 'route' }> {
  const checks = explainRoutes(routes, request);
  const matched = matchRoute(routes, request);
  const failedBefore = matched === undefined ? checks : checks.slice(0, matched.index);
  return {
    kind: 'route',
    summary:
      matched === undefined
        ? `no route matches ${request.method} ${request.path} (${checks.length} route(s) tried)`
        : `route ${matched.index} (${matched.route.origin}${matched.route.name ? `, ${matched.route.name}` : ''}) matches${failedBefore.length > 0 ? `; ${failedBefore.length} earlier route(s) did not` : ''}`,
    protocol,
    routes: checks.map((c) => ({
      index: c.index,
      origin: c.origin,
      matched: c.matched,
      reason: c.reason,
    })),
    ...(matched !== undefined && {
      matched: {
        index: matched.index,
        origin: matched.route.origin,
        ...(matched.route.name !== undefined && { name: matched.route.name }),
      },
    }),
  };
}

function faultStep(route: HttpRoute): Extract<Step, { kind: 'fault' }> | undefined {
  const { fault } = route;
  if (fault === undefined) return undefined;
  const parts: string[] = [];
  if (fault.delay)
    parts.push(`delay ${fault.delay.fixedDelayMs} ms for ${fault.delay.percentage}% of requests`);
  if (fault.abort) {
    const what =
      fault.abort.grpcStatus === undefined
        ? `HTTP ${fault.abort.httpStatus}`
        : `gRPC status ${fault.abort.grpcStatus}`;
    parts.push(`abort with ${what} for ${fault.abort.percentage}% of requests`);
  }
  return {
    kind: 'fault',
    summary: `fault injection: ${parts.join('; then ')}`,
    ...(fault.delay && {
      delay: { fixedDelayMs: fault.delay.fixedDelayMs, percent: fault.delay.percentage },
    }),
    ...(fault.abort && {
      abort: {
        httpStatus: fault.abort.httpStatus,
        ...(fault.abort.grpcStatus !== undefined && { grpcStatus: fault.abort.grpcStatus }),
        percent: fault.abort.percentage,
      },
    }),
  };
}

function resilienceStep(route: HttpRoute): Extract<Step, { kind: 'resilience' }> {
  const r = route.retries;
  const codes =
    r.retriableStatusCodes.length > 0 ? ` (status ${r.retriableStatusCodes.join(', ')})` : '';
  const retries =
    r.attempts === 0
      ? 'no retries'
      : `up to ${r.attempts} retries on ${r.retryOn.join(',')}${codes}${r.perTryTimeoutMs === undefined ? '' : `, ${r.perTryTimeoutMs} ms per try`}, backoff from ${r.backoffBaseMs} ms, preferring other endpoints`;
  return {
    kind: 'resilience',
    summary: `${route.timeoutMs === undefined ? 'no route timeout' : `route timeout ${route.timeoutMs} ms`}; ${retries}`,
    ...(route.timeoutMs !== undefined && { timeoutMs: route.timeoutMs }),
    retries: {
      attempts: r.attempts,
      retryOn: r.retryOn,
      retriableStatusCodes: r.retriableStatusCodes,
      ...(r.perTryTimeoutMs !== undefined && { perTryTimeoutMs: r.perTryTimeoutMs }),
      backoffBaseMs: r.backoffBaseMs,
    },
  };
}

function destinationsStep(
  destinations: readonly WeightedDestination[],
  mirrors: readonly { cluster: string; percent: number }[],
): Extract<Step, { kind: 'destinations' }> {
  const one = (d: WeightedDestination) => {
    const healthy = d.endpoints.filter((e) => e.healthy).length;
    const endpoints = healthy === 0 ? 'no healthy endpoint' : `${healthy} healthy endpoint(s)`;
    return `${d.percent}% → ${d.host}:${d.port}${d.subset === undefined ? '' : ` subset ${d.subset}`}, ${d.loadBalancer}, ${d.problem ?? endpoints}`;
  };
  const mirrored = mirrors.map((m) => `; mirrored to ${m.cluster} (${m.percent}%)`).join('');
  return {
    kind: 'destinations',
    summary: `${destinations.map(one).join('; ')}${mirrored}`,
    destinations,
    mirrors,
  };
}

export function atWaypoint(
  view: MeshView,
  target: ServiceTarget,
  request: RoutableRequest,
  sourceIdentity: string | undefined,
  l7: WaypointAuthorizer | undefined,
): WaypointResult {
  const steps: Step[] = [];
  const { service } = target;
  const policies = boundPolicies(view, service);
  const decision = l7?.({ service, request, sourceIdentity });
  steps.push({
    kind: 'waypoint-authorization',
    summary:
      decision === undefined
        ? `not evaluated: this build's waypoint does not enforce AuthorizationPolicy${policies.length > 0 ? ` (bound by targetRef: ${policies.join(', ')})` : ''}`
        : `${decision.allowed ? 'allowed' : 'denied'} at the waypoint: ${decision.reason}`,
    evaluated: decision !== undefined,
    ...(decision !== undefined && { decision }),
    policies,
  });
  if (decision !== undefined && !decision.allowed) {
    return {
      steps,
      hops: [],
      outcome: {
        kind: 'denied',
        status: 403,
        summary: `403 RBAC: access denied by ${decision.policy ?? 'AuthorizationPolicy'} at the waypoint`,
      },
    };
  }

  if (target.port.protocol === 'tcp') return tcpAtWaypoint(view, target, steps);

  const route = routeStep(target.routes, request, target.port.protocol);
  steps.push(route);
  const matched = matchRoute(target.routes, request);
  if (matched === undefined) {
    return {
      steps,
      hops: [],
      outcome: {
        kind: 'no-route',
        status: 404,
        flags: ['NR'],
        summary: '404 NR: no route matched at the waypoint',
      },
    };
  }
  const chosen = matched.route;
  const fault = faultStep(chosen);
  if (fault !== undefined) steps.push(fault);
  const abort = chosen.fault?.abort;
  let chance: string | undefined;
  if (abort !== undefined && abort.percentage >= 100) {
    const status = abort.grpcStatus === undefined ? abort.httpStatus : 200;
    return {
      steps,
      hops: [],
      outcome: {
        kind: 'fault-abort',
        status,
        flags: ['FI'],
        summary: `${status} fault abort ${abort.percentage}%${abort.grpcStatus === undefined ? '' : ` (grpc-status ${abort.grpcStatus})`}: the waypoint answers "fault filter abort" itself`,
      },
    };
  }
  if (abort !== undefined && abort.percentage > 0) {
    chance = `${abort.percentage}% of requests are aborted with ${abort.httpStatus} (FI) instead`;
  }
  const action = chosen.action;
  if (action.kind === 'direct') {
    return {
      steps,
      hops: [],
      outcome: {
        kind: 'direct-response',
        status: action.status,
        summary: `${action.status}: a direct response from the waypoint`,
        ...(chance && { chance }),
      },
    };
  }
  if (action.kind === 'redirect') {
    const location = redirectLocation(action.redirect, request, 'http', matched.match);
    return {
      steps,
      hops: [],
      outcome: {
        kind: 'redirect',
        status: action.redirect.status,
        summary: `${action.redirect.status} redirect to ${location}`,
        ...(chance && { chance }),
      },
    };
  }
  steps.push(resilienceStep(chosen));
  const total = action.destinations.reduce((sum, d) => sum + Math.max(d.weight, 0), 0);
  const destinations = action.destinations.map((d) =>
    weighted(view, d, total, view.waypoint(service.waypoint).cluster(d.cluster)?.cluster),
  );
  const mirrors = (chosen.mirrors ?? []).map((m) => ({
    cluster: m.cluster,
    percent: m.percentage,
  }));
  steps.push(destinationsStep(destinations, mirrors));
  const live = destinations.filter((d) => d.percent > 0);
  if (live.length > 1)
    chance = [
      chance,
      `the destination is drawn by weight (${live.map((d) => `${d.subset ?? d.host} ${d.percent}%`).join(', ')})`,
    ]
      .filter(Boolean)
      .join('; ');
  return { ...finish(view, live, chance), steps, retries: chosen.retries };
}

/** The hops of the live destinations, or the 503 the waypoint answers when there are none. */
function finish(
  view: MeshView,
  live: readonly WeightedDestination[],
  chance: string | undefined,
): Omit<WaypointResult, 'steps'> {
  const servable = live.filter((d) => d.problem === undefined);
  if (servable.length === 0) {
    return {
      hops: [],
      outcome: {
        kind: 'no-cluster',
        status: 503,
        flags: ['NC'],
        summary: `503 NC: ${live.map((d) => `${d.cluster}: ${d.problem ?? ''}`).join('; ')}`,
        ...(chance && { chance }),
      },
    };
  }
  const hops: Hop[] = [];
  for (const d of servable) {
    for (const e of d.endpoints) {
      const workload = view.proxy.workloadByIp(e.address);
      if (e.healthy && workload !== undefined)
        hops.push({ workload, address: e.address, port: e.port });
    }
  }
  if (hops.length === 0) {
    return {
      hops,
      outcome: {
        kind: 'no-healthy-upstream',
        status: 503,
        flags: ['UH'],
        summary: '503 UH: no healthy upstream',
        ...(chance && { chance }),
      },
    };
  }
  return { hops, ...(chance && { chance }) };
}

function tcpAtWaypoint(view: MeshView, target: ServiceTarget, steps: Step[]): WaypointResult {
  const port = target.port.port;
  const route = target.service.tcp.find((r) => r.ports.length === 0 || r.ports.includes(port));
  if (route === undefined) {
    return {
      steps,
      hops: [],
      outcome: {
        kind: 'no-route',
        summary: 'no TCP route for the port: the waypoint closes the connection',
        connectionReset: true,
      },
    };
  }
  const total = route.destinations.reduce((sum, d) => sum + Math.max(d.weight, 0), 0);
  const destinations = route.destinations.map((d) =>
    weighted(view, d, total, view.waypoint(target.service.waypoint).cluster(d.cluster)?.cluster),
  );
  steps.push({
    kind: 'route',
    summary: `TCP port ${port}: ${route.origin}`,
    protocol: 'tcp',
    routes: [
      { index: 0, origin: route.origin, matched: true, reason: 'first TCP route for the port' },
    ],
    matched: { index: 0, origin: route.origin },
  });
  steps.push(destinationsStep(destinations, []));
  return {
    ...finish(
      view,
      destinations.filter((d) => d.percent > 0),
      undefined,
    ),
    steps,
  };
}

/** AuthorizationPolicies bound by targetRef to the service or to its waypoint. */
function boundPolicies(view: MeshView, service: WaypointService): string[] {
  const model = view.served.model;
  if (model === undefined) return [];
  const [waypointNamespace, waypointName] = service.waypoint.split('/');
  return model.authorizationPolicies
    .filter((p) => {
      const ns = p.metadata.namespace ?? 'default';
      const refs = [...(p.spec.targetRef ? [p.spec.targetRef] : []), ...(p.spec.targetRefs ?? [])];
      return refs.some(
        (r) =>
          (r.kind === 'Service' && ns === service.namespace && r.name === service.name) ||
          (r.kind === 'Gateway' && ns === waypointNamespace && r.name === waypointName),
      );
    })
    .map((p) => `${p.metadata.namespace ?? 'default'}/${p.metadata.name}`);
}
