import type { PathNormalization } from '../../authz/normalize-path.js';
import { once } from 'node:events';
import {
  Agent,
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Test } from 'tap';
import type {
  Cluster,
  ClusterPolicy,
  Endpoint,
  HttpRoute,
  RetryPolicy,
  RouteAction,
  WaypointService,
} from '../../../api/waypoint/config.js';
import { clusterName } from '../../../api/waypoint/schema.js';
import type { HboneRequest } from '../../../core/hbone/server.js';
import { identityOf } from '../../../core/identity/spiffe.js';
import { silentLogger } from '../../../core/telemetry/log.js';
import { WaypointState } from '../../state.js';
import { WaypointProxy } from '../proxy.js';
import type { RequestRecord } from '../record.js';
import type { TunnelFactory } from '../tunnels.js';
import type { RequestTracing } from '../../telemetry/tracing.js';

// Builders and a harness for tests of the waypoint's request pipeline: services written by
// hand, apps on loopback, and the proxy fed tunnels by a loopback listener. Not used outside
// tests.

export const WAYPOINT = 'demo/waypoint';
export const HOSTNAME = 'echo.demo.svc.cluster.local';
export const VIP = '10.96.0.10';
export const SOURCE_IP = '10.0.0.5';
export const SOURCE_IDENTITY = identityOf({
  trustDomain: 'cluster.local',
  namespace: 'demo',
  serviceAccount: 'client',
});
export const ENDPOINT_IDENTITY = 'spiffe://cluster.local/ns/demo/sa/echo';

export const NO_RETRIES: RetryPolicy = {
  attempts: 0,
  retryOn: [],
  retriableStatusCodes: [],
  backoffBaseMs: 25,
};

export const POLICY: ClusterPolicy = {
  loadBalancer: { kind: 'ROUND_ROBIN' },
  connectionPool: {
    maxConnections: 2 ** 32 - 1,
    http1MaxPendingRequests: 2 ** 32 - 1,
    http2MaxRequests: 2 ** 32 - 1,
    maxRequestsPerConnection: 0,
    maxRetries: 2 ** 32 - 1,
    connectTimeoutMs: 2_000,
  },
};

/** An endpoint on loopback: the app listening on 127.0.0.1:`port`. */
export function endpoint(port: number, address = '127.0.0.1'): Endpoint {
  return { address, port, identity: ENDPOINT_IDENTITY, healthy: true };
}

export function cluster(
  endpoints: readonly Endpoint[],
  options: { port?: number; subset?: string; policy?: Partial<ClusterPolicy> } = {},
): Cluster {
  const port = options.port ?? 80;
  return {
    name: clusterName(HOSTNAME, port, options.subset),
    host: HOSTNAME,
    port,
    ...(options.subset === undefined ? {} : { subset: options.subset }),
    policy: { ...POLICY, ...options.policy },
    endpoints,
  };
}

export function route(
  action: RouteAction | readonly Cluster[],
  options: Partial<Omit<HttpRoute, 'action'>> = {},
): HttpRoute {
  return {
    origin: options.origin ?? 'test route',
    matches: options.matches ?? [],
    action: Array.isArray(action)
      ? {
          kind: 'route',
          destinations: (action as readonly Cluster[]).map((c) => ({
            cluster: c.name,
            weight: 100,
          })),
        }
      : (action as RouteAction),
    retries: options.retries ?? NO_RETRIES,
    ...options,
  };
}

export function service(
  clusters: readonly Cluster[],
  http: readonly HttpRoute[],
  options: Partial<WaypointService> = {},
): WaypointService {
  return {
    namespace: 'demo',
    name: 'echo',
    hostname: HOSTNAME,
    vips: [VIP],
    ports: [{ port: 80, protocol: 'http' }],
    http,
    tcp: [],
    clusters,
    waypoint: WAYPOINT,
    ...options,
  };
}

/** What an app saw of one request. */
export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface App {
  readonly port: number;
  readonly received: Received[];
  /** TCP connections the app accepted (each is one tunnel from the waypoint). */
  connections(): number;
}

/** An HTTP/1.1 app on loopback; `respond` answers each request after its body has arrived. */
export async function startApp(
  t: Test,
  respond: (req: Received, res: ServerResponse, index: number) => void = (req, res) =>
    res.end(JSON.stringify(req)),
): Promise<App> {
  const received: Received[] = [];
  let connections = 0;
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      const seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      };
      received.push(seen);
      respond(seen, res, received.length - 1);
    });
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  return {
    port: (server.address() as AddressInfo).port,
    received,
    connections: () => connections,
  };
}

/** A port nothing listens on: an endpoint there refuses every connection. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * The test double for the waypoint's HBONE connect: plain TCP to 127.0.0.1 at the
 * endpoint's port, so pipeline tests need no certificates. Counts the tunnels it opened.
 */
export class LoopbackTunnels implements TunnelFactory {
  opened = 0;

  open(target: Endpoint): Promise<Duplex> {
    this.opened++;
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port: target.port });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export interface ProxyHarness {
  readonly proxy: WaypointProxy;
  readonly state: WaypointState;
  readonly tunnels: LoopbackTunnels;
  /** Every finished request's record, in the order they finished. */
  readonly records: RequestRecord[];
  /** The tunnels the proxy saw refused, with their status. */
  readonly refused: number[];
  /** Tunnels (client connections) handed to the proxy so far. */
  tunnelsAccepted(): number;
  /** One HTTP/1.1 request through the proxy, to `authority` (the VIP and port a tunnel names). */
  request(options: {
    path?: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    authority?: string;
  }): Promise<Reply>;
  /** A raw client connection whose bytes form one tunnel to `authority`. */
  tunnel(authority?: string): Promise<Socket>;
}

/**
 * A WaypointProxy serving `services`, with tunnels from a loopback listener: each TCP
 * connection to it becomes one tunnel from SOURCE_IP with SOURCE_IDENTITY.
 */
export async function startProxy(
  t: Test,
  services: readonly WaypointService[],
  options: {
    random?: () => number;
    tunnels?: LoopbackTunnels;
    tracing?: RequestTracing;
    pathNormalization?: () => PathNormalization;
  } = {},
): Promise<ProxyHarness> {
  const state = new WaypointState({
    waypoint: WAYPOINT,
    clock: { now: () => performance.now() },
    random: options.random ?? Math.random,
  });
  state.apply(new Map(services.map((s) => [`${s.namespace}/${s.hostname}`, s])), []);
  const tunnels = options.tunnels ?? new LoopbackTunnels();
  const records: RequestRecord[] = [];
  const refused: number[] = [];
  let accepted = 0;
  const proxy = new WaypointProxy({
    state,
    tunnels,
    logger: silentLogger(),
    random: options.random ?? Math.random,
    onRequestDone: (record) => records.push({ ...record, flags: [...record.flags] }),
    ...(options.tracing === undefined ? {} : { tracing: options.tracing }),
    ...(options.pathNormalization === undefined
      ? {}
      : { pathNormalization: options.pathNormalization }),
  });
  const listeners = new Map<string, { server: Server; agent: Agent }>();
  t.teardown(() => {
    for (const { server, agent } of listeners.values()) {
      agent.destroy();
      server.close();
    }
    proxy.close();
  });
  const listenerFor = async (authority: string): Promise<{ server: Server; agent: Agent }> => {
    const existing = listeners.get(authority);
    if (existing) return existing;
    const [address, port] = authority.split(':');
    const server = createServer({ allowHalfOpen: true }, (socket) => {
      accepted++;
      const fake: HboneRequest = {
        authority: { address: address!, port: Number(port), family: 4 },
        peerIdentity: SOURCE_IDENTITY,
        peerAddress: SOURCE_IP,
        headers: {},
        accept: () => socket,
        reject: (status) => {
          refused.push(status);
          socket.destroy();
        },
      };
      proxy.handleTunnel(fake);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const made = { server, agent: new Agent({ keepAlive: true }) };
    listeners.set(authority, made);
    return made;
  };
  return {
    proxy,
    state,
    tunnels,
    records,
    refused,
    tunnelsAccepted: () => accepted,
    async request({ path = '/', method = 'GET', headers = {}, body, authority = `${VIP}:80` }) {
      const { server, agent } = await listenerFor(authority);
      const { port } = server.address() as AddressInfo;
      return new Promise((resolve, reject) => {
        const req = httpRequest(
          { host: '127.0.0.1', port, path, method, agent, headers: { host: 'echo', ...headers } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (chunk: Buffer) => chunks.push(chunk));
            res.once('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                body: Buffer.concat(chunks).toString(),
              }),
            );
            res.once('error', reject);
          },
        );
        req.once('error', reject);
        req.end(body);
      });
    },
    async tunnel(authority = `${VIP}:80`) {
      const { server } = await listenerFor(authority);
      const { port } = server.address() as AddressInfo;
      const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      await once(socket, 'connect');
      t.teardown(() => socket.destroy());
      return socket;
    },
  };
}
