/**
 * TCP routes for one port of a waypoint's service (Istio's getWaypointTCPRoutes): TLS routes
 * whose SNI is exactly the service's hostname come before TCP routes; within each, the
 * VirtualServices in order and the first rule that matches the port. Matches on source
 * labels or namespace never match at a waypoint (Istio passes it no source); subnet matches
 * are not checked.
 */
import type {
  L4MatchAttributes,
  RouteDestination as IstioRouteDestination,
  TLSMatchAttributes,
  VirtualServiceResource,
} from '../../api/resources/index.js';
import type { RouteDestination, TcpRoute } from '../../api/waypoint/config.js';
import type { ObjectRef } from '../model/issues.js';
import { resolveHost } from './hosts.js';
import { refOf } from './refs.js';
import type { RouteContext } from './route-context.js';

function portMatches(match: L4MatchAttributes | TLSMatchAttributes, port: number): boolean {
  const gateways = match.gateways ?? [];
  return (
    (match.port === undefined || match.port === port) &&
    (gateways.length === 0 || gateways.includes('mesh')) &&
    match.sourceLabels === undefined &&
    match.sourceNamespace === undefined
  );
}

/**
 * A `tcp` or `tls` route's weighted destinations as clusters (a lone destination takes all
 * the weight; others without weight are dropped). `port` is the one the traffic arrived on,
 * for destinations that name none. Shared by waypoints and gateways.
 */
export function l4Destinations(
  routes: readonly IstioRouteDestination[],
  vs: VirtualServiceResource,
  port: number,
  ref: ObjectRef,
  ctx: Pick<RouteContext, 'clusters' | 'compile'>,
): RouteDestination[] {
  const namespace = vs.metadata.namespace ?? 'default';
  const kept = routes.length === 1 ? routes : routes.filter((r) => (r.weight ?? 0) > 0);
  return kept.map((r) => ({
    cluster: ctx.clusters.resolve(
      {
        host: resolveHost(r.destination.host, namespace, ctx.compile.model.domainSuffix),
        subset: r.destination.subset,
        port: r.destination.port?.number,
      },
      port,
      ref,
    ),
    weight: routes.length === 1 ? 100 : (r.weight ?? 0),
  }));
}

export function virtualServiceTcpRoutes(
  virtualServices: readonly VirtualServiceResource[],
  hostname: string,
  ctx: RouteContext,
): TcpRoute[] {
  const port = ctx.match.port;
  const out: TcpRoute[] = [];
  const add = (
    vs: VirtualServiceResource,
    kind: 'tls' | 'tcp',
    index: number,
    routes: readonly IstioRouteDestination[],
  ) => {
    const namespace = vs.metadata.namespace ?? 'default';
    const ref = refOf(vs);
    out.push({
      origin: `VirtualService ${namespace}/${vs.metadata.name} ${kind}[${index}]`,
      ports: [port],
      destinations: l4Destinations(routes, vs, ctx.match.port, ref, ctx),
    });
  };
  for (const vs of virtualServices) {
    (vs.spec.tls ?? []).forEach((rule, i) => {
      // A TLS route's SNI is checked only against the service's own name.
      const applies = rule.match.some(
        (m) => m.sniHosts.length === 1 && m.sniHosts[0] === hostname && portMatches(m, port),
      );
      if (applies) add(vs, 'tls', i, rule.route);
    });
  }
  for (const vs of virtualServices) {
    (vs.spec.tcp ?? []).forEach((rule, i) => {
      const matches = rule.match ?? [];
      if (matches.length === 0 || matches.some((m) => portMatches(m, port)))
        add(vs, 'tcp', i, rule.route);
    });
  }
  return out;
}
