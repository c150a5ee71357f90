/**
 * The runtime check of config.ts's WaypointService: what a waypoint accepts off the wire. The
 * TypeScript type stays written out in config.ts (it is the contract people read); the
 * assertion at the end makes the two fail to compile the moment they drift apart.
 */
import { isIPAddress, regexProblem, s } from '../schema/index.js';
import type { AssertTrue, CheckContext, SameShape } from '../schema/index.js';
import type { WaypointService } from './config.js';
import { fqdnProblem } from '../resources/networking-hosts.js';
import { jwtRule, waypointPolicy } from './security-schema.js';
import { serviceTelemetrySchema } from './telemetry-schema.js';
import { u } from './union-schema.js';

const port = s.integer({ minimum: 1, maximum: 65535 });
const count = s.integer({ minimum: 0, maximum: 4294967295 });
const milliseconds = s.integer({ minimum: 1 });
const percentage = s.number({ minimum: 0, maximum: 100 });
const name = s.string({ minLength: 1 });

const regex = s.string().check((value, ctx) => {
  const problem = regexProblem(value);
  if (problem !== undefined) ctx.issue('', problem);
}, 'An RE2 regular expression.');

const stringMatch = u.oneKey({ exact: s.string(), prefix: s.string(), regex });

const headerMatch = s.object({
  name,
  match: stringMatch.optional(),
  absent: s.boolean().optional(),
});

const ipAddress = s.string().check((value, ctx) => {
  if (!isIPAddress(value)) ctx.issue('', 'must be an IP address');
});

const requestMatch = s.object({
  uri: stringMatch.optional(),
  ignoreUriCase: s.boolean().optional(),
  method: stringMatch.optional(),
  authority: stringMatch.optional(),
  headers: s.array(headerMatch).optional(),
  withoutHeaders: s.array(headerMatch).optional(),
  queryParams: s.array(s.object({ name, match: stringMatch.optional() })).optional(),
  port: port.optional(),
  sourceAddresses: s.array(ipAddress).optional(),
});

const headerOperations = s.object({
  set: s.map(s.string()).optional(),
  add: s.map(s.string()).optional(),
  remove: s.array(s.string()).optional(),
});

const requestResponseHeaders = s.object({
  request: headerOperations.optional(),
  response: headerOperations.optional(),
});

export const routeDestination = s.object({
  cluster: name,
  weight: count,
  headers: requestResponseHeaders.optional(),
  authority: s.string().optional(),
});

const redirect = s.object({
  uri: s.string().optional(),
  prefixRewrite: s.string().optional(),
  authority: s.string().optional(),
  scheme: s.string().optional(),
  port: port.optional(),
  derivePort: s.enumOf('protocol', 'request').optional(),
  status: s.integer({ minimum: 300, maximum: 399 }),
});

const routeAction = u.tagged('kind', {
  route: s.object({ kind: u.literal('route'), destinations: s.array(routeDestination) }),
  redirect: s.object({ kind: u.literal('redirect'), redirect }),
  direct: s.object({
    kind: u.literal('direct'),
    status: s.integer({ minimum: 200, maximum: 599 }),
    body: s.string().optional(),
  }),
});

const rewrite = s.object({
  uri: s.string().optional(),
  prefix: s.string().optional(),
  uriRegex: s.object({ match: regex, rewrite: s.string() }).optional(),
  authority: s.string().optional(),
});

const retryPolicy = s.object({
  attempts: count,
  perTryTimeoutMs: milliseconds.optional(),
  retryOn: s.array(name),
  retriableStatusCodes: s.array(s.integer({ minimum: 100, maximum: 599 })),
  backoffBaseMs: milliseconds,
});

const faultInjection = s.object({
  delay: s.object({ fixedDelayMs: s.integer({ minimum: 0 }), percentage }).optional(),
  abort: s
    .object({
      httpStatus: s.integer({ minimum: 200, maximum: 599 }),
      grpcStatus: s.integer({ minimum: 0, maximum: 16 }).optional(),
      percentage,
    })
    .optional(),
});

const corsPolicy = s.object({
  allowOrigins: s.array(stringMatch),
  allowMethods: s.array(s.string()),
  allowHeaders: s.array(s.string()),
  exposeHeaders: s.array(s.string()),
  maxAgeSeconds: s.integer({ minimum: 0 }).optional(),
  allowCredentials: s.boolean().optional(),
});

export const httpRoute = s.object({
  origin: s.string(),
  name: s.string().optional(),
  matches: s.array(requestMatch),
  action: routeAction,
  rewrite: rewrite.optional(),
  headers: requestResponseHeaders.optional(),
  timeoutMs: milliseconds.optional(),
  retries: retryPolicy,
  fault: faultInjection.optional(),
  mirrors: s.array(s.object({ cluster: name, percentage })).optional(),
  cors: corsPolicy.optional(),
});

export const tcpRoute = s.object({
  origin: s.string(),
  ports: s.array(port),
  destinations: s.array(routeDestination),
});

const loadBalancer = u.tagged('kind', {
  LEAST_REQUEST: s.object({ kind: u.literal('LEAST_REQUEST') }),
  ROUND_ROBIN: s.object({ kind: u.literal('ROUND_ROBIN') }),
  RANDOM: s.object({ kind: u.literal('RANDOM') }),
  CONSISTENT_HASH: s.object({
    kind: u.literal('CONSISTENT_HASH'),
    hashOn: u.oneKey({
      header: name,
      cookie: s.object({
        name,
        ttlMs: s.integer({ minimum: 0 }).optional(),
        path: s.string().optional(),
      }),
      sourceIp: u.literal(true),
      queryParameter: name,
    }),
  }),
});

const connectionPool = s.object({
  maxConnections: count,
  http1MaxPendingRequests: count,
  http2MaxRequests: count,
  maxRequestsPerConnection: count,
  maxRetries: count,
  connectTimeoutMs: milliseconds,
  idleTimeoutMs: s.integer({ minimum: 0 }).optional(),
});

const outlierDetection = s.object({
  consecutive5xxErrors: count.optional(),
  consecutiveGatewayErrors: count.optional(),
  intervalMs: milliseconds,
  baseEjectionTimeMs: milliseconds,
  maxEjectionPercent: percentage,
  minHealthPercent: percentage,
});

const endpoint = s
  .object({
    address: s.string({ minLength: 1, maxLength: 253 }),
    port,
    identity: s.string({
      pattern: /^spiffe:\/\/[^/]+\/ns\/[^/]+\/sa\/[^/]+$/,
      patternReason: 'must be a SPIFFE id spiffe://<trust-domain>/ns/<namespace>/sa/<account>',
    }),
    healthy: s.boolean(),
    authority: s.string().optional(),
    plaintext: s.boolean().optional(),
  })
  .check((e, ctx) => {
    if (isIPAddress(e.address)) return;
    if (e.plaintext !== true) ctx.issue('address', 'must be an IP address');
    else if (fqdnProblem(e.address) !== undefined)
      ctx.issue('address', 'must be an IP address or a host name');
  }, 'An IP address; a plaintext endpoint may be a host name (a DNS ServiceEntry endpoint).');

/** Istio's Envoy cluster name for a service port and subset. */
export function clusterName(host: string, port: number, subset: string | undefined): string {
  return `outbound|${port}|${subset ?? ''}|${host}`;
}

export const cluster = s
  .object({
    name,
    host: name,
    port,
    subset: name.optional(),
    policy: s.object({
      loadBalancer,
      connectionPool,
      outlierDetection: outlierDetection.optional(),
    }),
    endpoints: s.array(endpoint),
    problem: s.string().optional(),
  })
  .check((c, ctx) => {
    const expected = clusterName(c.host, c.port, c.subset);
    if (c.name !== expected) ctx.issue('name', `must be ${expected} (from host, port and subset)`);
  }, 'Named outbound|<port>|<subset>|<host>.');

/** Every cluster a route names is in `clusters`, and names are unique. */
function clusterReferences(service: WaypointService, ctx: CheckContext): void {
  const known = new Set<string>();
  service.clusters.forEach((c, i) => {
    if (known.has(c.name)) ctx.issue(`clusters[${i}].name`, `duplicates cluster ${c.name}`);
    known.add(c.name);
  });
  const expect = (clusterName: string, path: string) => {
    if (!known.has(clusterName)) ctx.issue(path, `names no cluster in clusters: ${clusterName}`);
  };
  service.http.forEach((route, i) => {
    if (route.action.kind === 'route') {
      route.action.destinations.forEach((d, j) =>
        expect(d.cluster, `http[${i}].action.destinations[${j}].cluster`),
      );
    }
    route.mirrors?.forEach((m, j) => expect(m.cluster, `http[${i}].mirrors[${j}].cluster`));
  });
  service.tcp.forEach((route, i) =>
    route.destinations.forEach((d, j) => expect(d.cluster, `tcp[${i}].destinations[${j}].cluster`)),
  );
}

export const waypointServiceSchema = s
  .object({
    namespace: name,
    name,
    hostname: name,
    vips: s.array(ipAddress),
    ports: s.array(s.object({ port, protocol: s.enumOf('http', 'http2', 'tcp', 'auto') })),
    http: s.array(httpRoute),
    tcp: s.array(tcpRoute),
    clusters: s.array(cluster),
    waypoint: s.string({ pattern: /^[^/]+\/[^/]+$/, patternReason: 'must be namespace/name' }),
    policies: s.array(waypointPolicy).optional(),
    jwtRules: s.array(jwtRule).optional(),
    telemetry: serviceTelemetrySchema.optional(),
  })
  .check(clusterReferences, 'Routes name clusters that exist; cluster names are unique.');

/** Compiles only while config.ts and the schema describe the same shape. */
export type SchemaMatchesConfig = AssertTrue<
  SameShape<WaypointService, typeof waypointServiceSchema>
>;
