/**
 * The servers of an Istio Gateway (networking.istio.io) as one gateway pod runs them, with the
 * VirtualServices bound to it (Istio's buildGatewayListeners and buildGatewayHTTPRouteConfig):
 *
 * - a VirtualService applies when its `gateways` name this Gateway (`name` in its own
 *   namespace, or `namespace/name`), its namespace is allowed by the server host's namespace
 *   prefix, and one of its hosts meets a server host; each meeting point is a virtual host,
 *   and the routes of every VirtualService for that host follow one another, oldest first;
 * - `httpsRedirect` answers every request of the server with a 301 to https;
 * - TLS servers in PASSTHROUGH mode route by SNI with the VirtualServices' `tls` routes; TCP
 *   servers take their `tcp` routes.
 */
import {
  isHTTPProtocol,
  parsePortProtocol,
  type GatewayResource,
  type Server,
  type VirtualServiceResource,
} from '../../api/resources/index.js';
import type { GatewayServer, SniRoute, VirtualHost } from '../../api/gateway/config.js';
import { DEFAULT_RETRY_POLICY, type HttpRoute } from '../../api/waypoint/config.js';
import { compact } from '../waypoint/compact.js';
import { resolveHost } from '../waypoint/hosts.js';
import { l4Destinations } from '../waypoint/vs-tcp.js';
import { refOf } from '../waypoint/refs.js';
import type { RouteContext } from '../waypoint/route-context.js';
import { sourceAddresses } from '../waypoint/sources.js';
import { compareAge } from '../waypoint/virtual-services.js';
import { virtualServiceHttpRoutes } from '../waypoint/vs-http.js';
import type { GatewayCompileContext, ListenerProtocol } from './context.js';
import { serverTls } from './credentials.js';
import { intersectHosts, parseServerHost, type ServerHost } from './hosts.js';

/** A compiled server and the port protocol it asks for. */
export interface PortServer {
  readonly port: number;
  readonly protocol: ListenerProtocol;
  readonly server: GatewayServer;
}

export function listenerProtocol(portProtocol: string): ListenerProtocol {
  const protocol = parsePortProtocol(portProtocol);
  if (isHTTPProtocol(protocol)) return 'http';
  if (protocol === 'HTTPS') return 'https';
  if (protocol === 'TLS') return 'tls';
  return 'tcp';
}

/** Whether a VirtualService's `gateways` entry names `namespace/name` (Istio's resolveGatewayName). */
function namesGateway(entry: string, vsNamespace: string, gateway: string): boolean {
  if (entry === 'mesh') return false;
  const slash = entry.indexOf('/');
  if (slash >= 0) return entry === gateway;
  // A legacy FQDN: name.namespace.svc.<suffix>.
  const [name, namespace] = entry.split('.');
  return `${entry.includes('.') ? namespace : vsNamespace}/${name}` === gateway;
}

/** The VirtualServices bound to `gateway` (`namespace/name`), oldest first. */
export function virtualServicesForGateway(
  all: readonly VirtualServiceResource[],
  gateway: string,
): VirtualServiceResource[] {
  return all
    .filter((vs) => {
      const namespace = vs.metadata.namespace ?? 'default';
      return (vs.spec.gateways ?? []).some((g) => namesGateway(g, namespace, gateway));
    })
    .sort(compareAge);
}

/** Where a VirtualService's hosts meet a server's, if its namespace may bind there. */
function meetingHosts(
  vs: VirtualServiceResource,
  serverHosts: readonly ServerHost[],
  domainSuffix: string,
): string[] {
  const namespace = vs.metadata.namespace ?? 'default';
  const out: string[] = [];
  for (const written of vs.spec.hosts ?? []) {
    const host = resolveHost(written, namespace, domainSuffix).toLowerCase();
    for (const server of serverHosts) {
      if (server.namespace !== '*' && server.namespace !== namespace) continue;
      const met = intersectHosts(host, server.host);
      if (met !== undefined && !out.includes(met)) out.push(met);
    }
  }
  return out;
}

/** The route every request of an `httpsRedirect` server takes. */
const HTTPS_REDIRECT: HttpRoute = {
  origin: 'httpsRedirect',
  matches: [],
  action: { kind: 'redirect', redirect: { scheme: 'https', derivePort: 'protocol', status: 301 } },
  retries: DEFAULT_RETRY_POLICY,
};

function routeContext(
  ctx: GatewayCompileContext,
  port: number,
  gateways: readonly string[],
  scheme: 'http' | 'https',
): RouteContext {
  const { model } = ctx.compile;
  return {
    compile: ctx.compile,
    clusters: ctx.clusters,
    match: {
      port,
      pinPort: false,
      sources: (labels, namespace) => sourceAddresses(model, labels, namespace),
      gateways,
      scheme,
    },
  };
}

function virtualHosts(
  bound: readonly VirtualServiceResource[],
  serverHosts: readonly ServerHost[],
  rc: RouteContext,
  httpsRedirect: boolean,
): VirtualHost[] {
  const byDomain = new Map<string, HttpRoute[]>();
  for (const vs of bound) {
    const domains = meetingHosts(vs, serverHosts, rc.compile.model.domainSuffix);
    if (domains.length === 0 || (vs.spec.http ?? []).length === 0) continue;
    const routes = httpsRedirect ? [HTTPS_REDIRECT] : virtualServiceHttpRoutes(vs, rc);
    for (const domain of domains) {
      const list = byDomain.get(domain) ?? [];
      if (!(httpsRedirect && list.length > 0)) list.push(...routes);
      byDomain.set(domain, list);
    }
  }
  // A redirecting server redirects every host it serves, routes or not.
  if (httpsRedirect)
    for (const { host } of serverHosts)
      if (!byDomain.has(host)) byDomain.set(host, [HTTPS_REDIRECT]);
  return [...byDomain].map(([domain, routes]) => ({ domains: [domain], routes }));
}

/** A `tls` or `tcp` match applies at this gateway and port. */
function l4MatchApplies(
  match: { gateways?: readonly string[] | undefined; port?: number | undefined },
  vsNamespace: string,
  gateway: string,
  port: number,
): boolean {
  const gateways = match.gateways ?? [];
  return (
    (match.port === undefined || match.port === port) &&
    (gateways.length === 0 || gateways.some((g) => namesGateway(g, vsNamespace, gateway)))
  );
}

function sniRoutes(
  bound: readonly VirtualServiceResource[],
  serverHosts: readonly ServerHost[],
  kind: 'tls' | 'tcp',
  gateway: string,
  port: number,
  ctx: GatewayCompileContext,
): SniRoute[] {
  const out: SniRoute[] = [];
  for (const vs of bound) {
    const namespace = vs.metadata.namespace ?? 'default';
    if (meetingHosts(vs, serverHosts, ctx.compile.model.domainSuffix).length === 0) continue;
    const origin = (i: number) => `VirtualService ${namespace}/${vs.metadata.name} ${kind}[${i}]`;
    if (kind === 'tls') {
      (vs.spec.tls ?? []).forEach((rule, i) => {
        const sni = rule.match
          .filter((m) => l4MatchApplies(m, namespace, gateway, port))
          .flatMap((m) => m.sniHosts)
          .flatMap((h) => serverHosts.map((s) => intersectHosts(h.toLowerCase(), s.host)))
          .filter((h): h is string => h !== undefined);
        if (sni.length === 0) return;
        out.push({
          origin: origin(i),
          sniHosts: [...new Set(sni)],
          destinations: l4Destinations(rule.route, vs, port, refOf(vs), ctx),
        });
      });
    } else {
      (vs.spec.tcp ?? []).forEach((rule, i) => {
        const matches = rule.match ?? [];
        if (matches.length > 0 && !matches.some((m) => l4MatchApplies(m, namespace, gateway, port)))
          return;
        out.push({
          origin: origin(i),
          sniHosts: [],
          destinations: l4Destinations(rule.route, vs, port, refOf(vs), ctx),
        });
      });
    }
  }
  return out;
}

/** Every server of `gateway` as the pod runs it. */
export function istioGatewayServers(
  gateway: GatewayResource,
  allVirtualServices: readonly VirtualServiceResource[],
  ctx: GatewayCompileContext,
): PortServer[] {
  const namespace = gateway.metadata.namespace ?? 'default';
  const fullName = `${namespace}/${gateway.metadata.name}`;
  const bound = virtualServicesForGateway(allVirtualServices, fullName);
  return gateway.spec.servers.map((server: Server, i): PortServer => {
    const port = server.port.number;
    const protocol = listenerProtocol(server.port.protocol);
    const hosts = server.hosts.map((h) => parseServerHost(h, namespace));
    const origin = `Gateway ${fullName} servers[${i}]`;
    const tls =
      server.tls === undefined || protocol === 'http'
        ? undefined
        : serverTls(server.tls, ctx.secrets, ctx.podNamespace);
    const httpsRedirect = protocol === 'http' && server.tls?.httpsRedirect === true;
    const passthrough = tls?.mode === 'passthrough';
    const terminatesHttp = protocol === 'http' || (protocol === 'https' && !passthrough);
    // What is not HTTP is routed by SNI when passed through, else by the TCP routes.
    const l4 = passthrough ? 'tls' : 'tcp';
    const rc = routeContext(ctx, port, [fullName], protocol === 'http' ? 'http' : 'https');
    return {
      port,
      protocol,
      server: compact({
        origin,
        hosts: hosts.map((h) => h.host),
        tls,
        httpsRedirect: httpsRedirect ? true : undefined,
        virtualHosts: terminatesHttp ? virtualHosts(bound, hosts, rc, httpsRedirect) : [],
        tcp: terminatesHttp ? [] : sniRoutes(bound, hosts, l4, fullName, port, ctx),
      }),
    };
  });
}
