/**
 * `ambit x explain`'s engine: what the mesh does with one request, step by step, decided by
 * the proxies' own code (ztunnel's resolveDestination and authorize, the waypoint's router)
 * on the resources the control plane serves. Pure apart from its input: no process, no
 * socket; tests call it directly.
 */
import { canonicalIp } from '../../core/net/ip.js';
import type { RoutableRequest } from '../../waypoint/router/request.js';
import { captureStep, findSource } from './capture.js';
import {
  destinationStep,
  parseTarget,
  resolveTarget,
  tunnel,
  type Hop,
  type Path,
} from './destination.js';
import type { AuthorizationDecision, Explanation, Outcome, Step } from './explanation.js';
import { addressOf, MeshView } from './mesh-view.js';
import { describeDecision, nodeTunnelDecision, nodeTunnelStep, type Peer } from './node-tunnel.js';
import type { ServedConfig } from './served.js';
import { atWaypoint, type WaypointAuthorizer, type WaypointResult } from './waypoint-steps.js';

export type { WaypointAuthorizer } from './waypoint-steps.js';

export interface ExplainInput {
  /** The source workload: `namespace/name`, a name in `default`, or its IP. */
  readonly from: string;
  /** HOST:PORT: a service hostname, short name or VIP, or a pod IP. */
  readonly to: string;
  /** Default GET. */
  readonly method?: string;
  /** Default `/`. */
  readonly path?: string;
  /** Request headers; `host` defaults to HOST:PORT as given. */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ExplainOptions {
  /** L7 AuthorizationPolicy at the waypoint (`waypoint-authorizer.ts`). */
  readonly l7?: WaypointAuthorizer;
}

function lowerCased(headers: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

function routedSummary(hops: readonly Hop[], via: string): string {
  const names = hops.map(
    (h) => `${h.workload.namespace}/${h.workload.name} (${h.address}:${h.port})`,
  );
  const to = names.length === 1 ? names[0] : `one of ${names.join(', ')}`;
  return `routed to ${to}${via}`;
}

/** The outcome once the destination's node tunnel has decided on every hop. */
function decided(
  path: Extract<Path, { kind: 'waypoint' | 'direct' | 'plaintext' }>,
  hops: readonly Hop[],
  decisions: readonly AuthorizationDecision[],
  waypoint: WaypointResult | undefined,
  view: MeshView,
): Outcome {
  const allowed = hops.filter((_, i) => decisions[i]?.allowed === true);
  const chance = waypoint?.chance;
  const endpoints = allowed.map((h) => view.endpointRef(h.address, h.port, h.workload.healthy));
  if (allowed.length === 0) {
    const first = decisions[0]!;
    const by = `${describeDecision(first)} at the node tunnel of ${first.at}`;
    if (path.kind !== 'waypoint') {
      return {
        kind: 'denied',
        connectionReset: true,
        summary: `connection reset: denied (${by})`,
        ...(chance && { chance }),
      };
    }
    const retries = waypoint?.retries;
    const retried =
      retries !== undefined &&
      retries.attempts > 0 &&
      retries.retryOn.some((t) => ['connect-failure', 'reset', '5xx', 'gateway-error'].includes(t));
    return {
      kind: 'denied',
      status: 503,
      flags: retried ? ['UF', 'URX'] : ['UF'],
      summary: `503 ${retried ? 'UF,URX' : 'UF'}: the waypoint's tunnel is refused (${by})`,
      ...(chance && { chance }),
    };
  }
  const via =
    path.kind === 'waypoint'
      ? ` via waypoint ${path.waypoint}`
      : path.kind === 'plaintext'
        ? ' in plaintext'
        : ' over HBONE';
  const partly =
    allowed.length < hops.length ? `; the others are denied by their node tunnels` : '';
  return {
    kind: 'routed',
    summary: routedSummary(allowed, via) + partly,
    endpoints,
    ...(chance && { chance }),
  };
}

export function explain(
  served: ServedConfig,
  input: ExplainInput,
  options: ExplainOptions = {},
): Explanation {
  const view = new MeshView(served);
  const source = findSource(view, input.from);
  const capture = captureStep(view, source);
  const steps: Step[] = [capture];
  const { host, port } = parseTarget(input.to);
  const headers = lowerCased(input.headers ?? {});
  const authority = headers.host ?? (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);
  const method = (input.method ?? 'GET').toUpperCase();
  const path = input.path ?? '/';
  const request = { from: input.from, to: input.to, method, path, authority, headers };
  const done = (outcome: Outcome): Explanation => ({ request, steps, outcome });

  const resolved = resolveTarget(view, input.to, source);
  steps.push(destinationStep(resolved));
  const { step, path: route } = tunnel(view, source, capture.captured, resolved);
  steps.push(step);
  if (route.kind === 'stop') return done(route.outcome);

  const sourceAddress = canonicalIp(addressOf(source)) ?? addressOf(source);
  let hops: readonly Hop[];
  let peer: Peer;
  let waypoint: WaypointResult | undefined;
  if (route.kind === 'waypoint') {
    const config =
      route.service && view.waypointService(route.service.namespace, route.service.hostname);
    const target = config && view.waypoint(config.waypoint).target(route.vip, route.port);
    if (target === undefined) {
      return done({
        kind: 'unavailable',
        connectionReset: true,
        summary: `waypoint ${route.waypoint} has no config for ${route.vip}:${route.port}: it refuses the tunnel`,
      });
    }
    const routable: RoutableRequest = {
      method,
      path,
      authority,
      headers,
      port: route.port,
      sourceAddress,
    };
    waypoint = atWaypoint(view, target, routable, source.identity, options.l7);
    steps.push(...waypoint.steps);
    if (waypoint.outcome !== undefined) return done(waypoint.outcome);
    hops = waypoint.hops;
    peer = {
      identity: route.waypointWorkload.identity,
      address: addressOf(route.waypointWorkload, route.vip),
    };
  } else {
    hops = route.hops;
    peer =
      route.kind === 'direct'
        ? { identity: source.identity, address: sourceAddress }
        : { address: sourceAddress };
  }
  const decisions = hops.map((hop) => nodeTunnelDecision(view, hop, peer));
  steps.push(nodeTunnelStep(decisions));
  return done(decided(route, hops, decisions, waypoint, view));
}
