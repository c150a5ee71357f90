/**
 * The waypoint compiler: for every service bound to a waypoint, the WaypointService its
 * waypoint runs (api/waypoint/config.ts), from the mesh model and the VirtualServices,
 * DestinationRules and HTTPRoutes that apply to it. Pure; never throws on config that passed
 * validation: what cannot be served becomes a cluster with a `problem` and an issue.
 *
 * Per service port, HTTP routes come from the HTTPRoutes attached to the service on that
 * port, else from its VirtualServices, else one default route to the service; mixing the two
 * APIs on one service is undefined in Istio, so here HTTPRoutes win and each VirtualService
 * they displace is reported. A service with several HTTP ports gets each port's routes with
 * that port in every match, since a destination without a port means the request's port.
 * Every TCP (or sniffed) port gets the VirtualServices' TLS and TCP routes, then a default.
 */
import { isIPAddress } from '../../api/schema/index.js';
import type { VirtualServiceResource } from '../../api/resources/index.js';
import {
  DEFAULT_RETRY_POLICY,
  type HttpRoute,
  type RouteDestination,
  type ServicePort,
  type TcpRoute,
  type WaypointService,
} from '../../api/waypoint/config.js';
import { waypointServiceName } from '../../api/waypoint/codec.js';
import type { ModelIssue, ObjectRef } from '../model/issues.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { MeshService } from '../model/services.js';
import type { Waypoint } from '../model/waypoints.js';
import { ClusterSet } from './clusters.js';
import { compileContext } from './context.js';
import type { CompileContext, WaypointCompileOptions } from './context.js';
import { gatewayHttpRoutes, httpRoutesFor } from './httproute.js';
import type { AttachedRoute } from './httproute.js';
import { carriesHttp, carriesTcp, portProtocol } from './protocol.js';
import { refOf } from './refs.js';
import type { RouteContext } from './route-context.js';
import { securityFor } from './security-policies.js';
import { sourceAddresses } from './sources.js';
import { serviceTelemetry, telemetryIndex, type TelemetryIndex } from './telemetry.js';
import { virtualServicesFor } from './virtual-services.js';
import { virtualServiceHttpRoutes } from './vs-http.js';
import type { MatchContext } from './vs-match.js';
import { virtualServiceTcpRoutes } from './vs-tcp.js';

export type { WaypointCompileOptions } from './context.js';

export interface CompiledWaypointServices {
  /** By resource name, `namespace/hostname`, in the model's service order. */
  readonly services: ReadonlyMap<string, WaypointService>;
  /** What the config asks for that cannot be served, for `ambit analyze`. */
  readonly issues: readonly ModelIssue[];
}

/** The origin of routes the waypoint makes when the config has none for a port. */
const DEFAULT_ORIGIN = 'default';

function servicePorts(service: MeshService): ServicePort[] {
  return service.ports.flatMap((p) => {
    const protocol = portProtocol(service, p);
    return protocol === undefined ? [] : [{ port: p.port, protocol }];
  });
}

/**
 * The HTTP routes of one port: the HTTPRoutes attached on it if any (reporting the
 * VirtualServices they displace), else the VirtualServices' routes.
 */
function httpRoutesOnPort(
  attached: readonly AttachedRoute[],
  virtualServices: readonly VirtualServiceResource[],
  serviceRef: ObjectRef,
  rc: RouteContext,
): HttpRoute[] {
  const port = rc.match.port;
  const onPort = attached.filter((a) => a.ports === 'all' || a.ports.has(port));
  const [first] = onPort;
  if (first === undefined) return virtualServices.flatMap((vs) => virtualServiceHttpRoutes(vs, rc));
  for (const vs of virtualServices) {
    if ((vs.spec.http ?? []).length === 0) continue;
    rc.compile.issues.add({
      code: 'VirtualServiceIgnoredForHTTPRoute',
      object: refOf(vs),
      service: serviceRef,
      by: refOf(first.route),
    });
  }
  return gatewayHttpRoutes(onPort, rc);
}

/** `sourceAddresses` with each selection computed once per service. */
function memoizedSources(model: MeshModel): MatchContext['sources'] {
  const cache = new Map<string, string[]>();
  return (labels, namespace) => {
    const key = JSON.stringify([labels, namespace]);
    let found = cache.get(key);
    if (found === undefined) {
      found = sourceAddresses(model, labels, namespace);
      cache.set(key, found);
    }
    return found;
  };
}

function compileService(
  service: MeshService,
  waypoint: Waypoint,
  ctx: CompileContext,
  telemetry: TelemetryIndex,
): WaypointService {
  const { model } = ctx;
  const serviceRef = refOf(service.resource);
  const clusters = new ClusterSet(ctx, waypoint.namespace);
  const ports = servicePorts(service);
  const httpPorts = ports.filter((p) => carriesHttp(p.protocol)).map((p) => p.port);
  const tcpPorts = ports.filter((p) => carriesTcp(p.protocol)).map((p) => p.port);
  const attached = httpRoutesFor(model.httpRoutes, service, waypoint.namespace);
  const virtualServices = virtualServicesFor(
    model.virtualServices,
    service,
    waypoint.namespace,
    model.domainSuffix,
  );
  const sources = memoizedSources(model);
  const routeContext = (port: number): RouteContext => ({
    compile: ctx,
    clusters,
    match: { port, pinPort: httpPorts.length > 1, sources },
  });
  const toService = (port: number): RouteDestination => ({
    cluster: clusters.resolve({ host: service.hostname, port }, port, serviceRef),
    weight: 100,
  });

  const http = httpPorts.flatMap((port): HttpRoute[] => {
    const rc = routeContext(port);
    const routes = httpRoutesOnPort(attached, virtualServices, serviceRef, rc);
    if (routes.length > 0) return routes;
    return [
      {
        origin: DEFAULT_ORIGIN,
        matches: rc.match.pinPort ? [{ port }] : [],
        action: { kind: 'route', destinations: [toService(port)] },
        retries: DEFAULT_RETRY_POLICY,
      },
    ];
  });
  const tcp = tcpPorts.flatMap((port): TcpRoute[] => [
    ...virtualServiceTcpRoutes(virtualServices, service.hostname, routeContext(port)),
    { origin: DEFAULT_ORIGIN, ports: [port], destinations: [toService(port)] },
  ]);

  const compiled = clusters.list();
  return {
    namespace: service.namespace,
    name: service.name,
    hostname: service.hostname,
    vips: service.addresses.filter((a) => isIPAddress(a)),
    ports,
    http,
    tcp,
    clusters: compiled,
    waypoint: `${waypoint.namespace}/${waypoint.name}`,
    ...securityFor(model, service, waypoint, ctx.options.rootNamespace),
    telemetry: serviceTelemetry(service, waypoint, compiled, telemetry),
  };
}

export function compileWaypointServices(
  model: MeshModel,
  options: WaypointCompileOptions,
): CompiledWaypointServices {
  const ctx = compileContext(model, options);
  const services = new Map<string, WaypointService>();
  const telemetry = telemetryIndex(model, options);
  for (const service of model.services) {
    if (service.waypoint.state !== 'bound') continue;
    const config = compileService(service, service.waypoint.waypoint, ctx, telemetry);
    services.set(waypointServiceName(config), config);
  }
  return { services, issues: ctx.issues.list };
}
