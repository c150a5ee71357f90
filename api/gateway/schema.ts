/**
 * The runtime check of config.ts's GatewayProxy: what a gateway accepts off the wire, built
 * from the waypoint's route and cluster schemas. As for the waypoint, the assertion at the end
 * fails to compile the moment the schema and the type drift apart.
 */
import { s } from '../schema/index.js';
import type { AssertTrue, CheckContext, SameShape } from '../schema/index.js';
import { cluster, httpRoute, routeDestination } from '../waypoint/schema.js';
import { serviceTelemetryFields, workloadTelemetrySchema } from '../waypoint/telemetry-schema.js';
import type { GatewayProxy } from './config.js';

const port = s.integer({ minimum: 1, maximum: 65535 });
const name = s.string({ minLength: 1 });
const tlsVersion = s.enumOf('TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3');

const serverTls = s.object({
  mode: s.enumOf('simple', 'mutual', 'optional-mutual', 'passthrough'),
  credential: s
    .object({
      source: s.enumOf('secret', 'file'),
      certificateChain: name,
      privateKey: name,
      caCertificates: name.optional(),
    })
    .optional(),
  minProtocolVersion: tlsVersion.optional(),
  maxProtocolVersion: tlsVersion.optional(),
  problem: s.string().optional(),
});

const server = s.object({
  origin: name,
  hosts: s.array(name, { minItems: 1 }),
  tls: serverTls.optional(),
  httpsRedirect: s.boolean().optional(),
  virtualHosts: s.array(s.object({ domains: s.array(name), routes: s.array(httpRoute) })),
  tcp: s.array(
    s.object({ origin: name, sniHosts: s.array(name), destinations: s.array(routeDestination) }),
  ),
});

const listener = s.object({
  port,
  protocol: s.enumOf('http', 'https', 'tls', 'tcp'),
  servers: s.array(server),
});

/** Every cluster a route names is in `clusters`; ports are unique. */
function references(config: GatewayProxy, ctx: CheckContext): void {
  const known = new Set(config.clusters.map((c) => c.name));
  const ports = new Set<number>();
  config.listeners.forEach((l, i) => {
    if (ports.has(l.port)) ctx.issue(`listeners[${i}].port`, `duplicates port ${l.port}`);
    ports.add(l.port);
    l.servers.forEach((srv, j) => {
      const at = `listeners[${i}].servers[${j}]`;
      const expect = (cluster: string, path: string) => {
        if (!known.has(cluster)) ctx.issue(path, `names no cluster in clusters: ${cluster}`);
      };
      srv.virtualHosts.forEach((vh, k) =>
        vh.routes.forEach((route, r) => {
          if (route.action.kind !== 'route') return;
          route.action.destinations.forEach((d, n) =>
            expect(
              d.cluster,
              `${at}.virtualHosts[${k}].routes[${r}].action.destinations[${n}].cluster`,
            ),
          );
        }),
      );
      srv.tcp.forEach((route, k) =>
        route.destinations.forEach((d, n) =>
          expect(d.cluster, `${at}.tcp[${k}].destinations[${n}].cluster`),
        ),
      );
    });
  });
}

export const gatewayProxySchema = s
  .object({
    namespace: name,
    serviceAccount: name,
    name,
    listeners: s.array(listener),
    clusters: s.array(cluster),
    telemetry: s.object({ ...serviceTelemetryFields, source: workloadTelemetrySchema }).optional(),
  })
  .check(references, 'Routes name clusters that exist; listener ports are unique.');

/** Compiles only while config.ts and the schema describe the same shape. */
export type SchemaMatchesConfig = AssertTrue<SameShape<GatewayProxy, typeof gatewayProxySchema>>;
