import http from 'node:http';
import net from 'node:net';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { failsRequest, NO_FAULTS, type ServiceFaults } from './faults.js';
import type { UpstreamName } from './upstream.js';

// What the four Bookinfo services share: an HTTP/1.1 server that can be handed accepted
// sockets (a listener inside a pod's network namespace) or listen on its own, a count of
// requests served, faults on purpose, and `/health` that neither counts nor fails.

export type ServiceName = 'productpage' | 'details' | 'reviews' | 'ratings';

/** What every `createXServer` takes. */
export interface BookinfoOptions {
  /** Where `listen()` listens (Istio's samples use 9080). */
  readonly port: number;
  /** The `version` label of the pod; default `v1`. */
  readonly version?: string;
  /** The pod's name, shown as reviews' `podname`; default the host name. */
  readonly name?: string;
  /** `host:port` or base URLs of the services this one calls; default `http://<name>:9080`. */
  readonly upstreams?: Partial<Record<UpstreamName, string>>;
  /**
   * How calls to upstreams connect: a keep-alive agent of the caller's (one whose sockets are
   * made inside a pod's network namespace, say). Default a keep-alive agent of the server's.
   */
  readonly agent?: http.Agent;
  readonly faults?: Partial<ServiceFaults>;
}

export interface BookinfoServer {
  readonly service: ServiceName;
  readonly version: string;
  readonly name: string;
  readonly port: number;
  /** Change its fields to change how the running server misbehaves. */
  readonly faults: ServiceFaults;
  /** Requests received so far, `/health` not counted. */
  readonly served: number;
  /** Serves one accepted connection; bound, so it can be handed to any listener as is. */
  readonly handle: (socket: net.Socket) => void;
  /** Listens on `port` (the program's way); resolves with the bound address. */
  listen(host?: string): Promise<net.AddressInfo>;
  /** Stops listening (if it did), destroys its connections and its own agent's. */
  close(): Promise<void>;
}

/** One request as a service's routes see it, body read whole. */
export interface ServiceRequest {
  readonly method: string;
  /** Without the query. */
  readonly pathname: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** Aborted when the client goes away before the answer: calls made for it are dropped. */
  readonly signal: AbortSignal;
}

export interface ServiceReply {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body: string;
}

export function jsonReply(status: number, value: unknown): ServiceReply {
  return { status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

export function htmlReply(status: number, body: string): ServiceReply {
  return { status, headers: { 'content-type': 'text/html; charset=utf-8' }, body };
}

/** Request bodies are forms and small JSON documents. */
const MAX_BODY_BYTES = 64 * 1024;

export interface ServiceSpec {
  readonly service: ServiceName;
  readonly options: BookinfoOptions;
  /** The answer to `GET /health` (each Istio sample words its own). */
  readonly health: ServiceReply;
  readonly route: (request: ServiceRequest, agent: http.Agent) => Promise<ServiceReply>;
}

export function createServiceServer(spec: ServiceSpec): BookinfoServer {
  const { service, options } = spec;
  const version = options.version ?? 'v1';
  const name = options.name ?? hostname();
  const faults: ServiceFaults = { ...NO_FAULTS, ...options.faults };
  const ownAgent = options.agent === undefined ? new http.Agent({ keepAlive: true }) : undefined;
  const agent = options.agent ?? ownAgent!;
  const sockets = new Set<net.Socket>();
  let served = 0;
  let listener: net.Server | undefined;

  const answer = async (request: ServiceRequest): Promise<ServiceReply> => {
    if (request.method === 'GET' && request.pathname === '/health') return spec.health;
    const failing = failsRequest(faults, ++served);
    if (faults.delayMs > 0) await sleep(faults.delayMs, undefined, { signal: request.signal });
    if (failing) return jsonReply(faults.failStatus, { error: 'Service unavailable' });
    return spec.route(request, agent);
  };

  const server = http.createServer((req, res) => {
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    readBody(req)
      .then(
        async (body) => {
          if (body === undefined) {
            // The rest of the body is still on the connection: it cannot carry another request.
            res.shouldKeepAlive = false;
            return send(res, jsonReply(413, { error: 'body too large' }));
          }
          const url = new URL(req.url ?? '/', 'http://bookinfo');
          const request: ServiceRequest = {
            method: req.method ?? 'GET',
            pathname: url.pathname,
            query: url.searchParams,
            headers: req.headers,
            body,
            signal: controller.signal,
          };
          send(res, await answer(request));
        },
        () => res.destroy(),
      )
      .catch((err: unknown) => {
        if (controller.signal.aborted) return;
        send(res, jsonReply(500, { error: err instanceof Error ? err.message : String(err) }));
      });
  });
  // A proxy in front keeps idle connections to reuse for a long time (Envoy: an hour); a
  // backend that closed them after Node's 5 s would race its next request on them.
  server.keepAliveTimeout = 60_000;

  const handle = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    server.emit('connection', socket);
  };

  return {
    service,
    version,
    name,
    port: options.port,
    faults,
    get served() {
      return served;
    },
    handle,
    listen: (host = '0.0.0.0') =>
      new Promise((resolve, reject) => {
        const own = net.createServer(handle);
        own.once('error', reject);
        own.listen({ host, port: options.port }, () => {
          own.off('error', reject);
          listener = own;
          resolve(own.address() as net.AddressInfo);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        ownAgent?.destroy();
        if (listener === undefined) return resolve();
        listener.close(() => resolve());
      }),
  };
}

/** The whole body as text; undefined when it is larger than MAX_BODY_BYTES. */
async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: http.ServerResponse, reply: ServiceReply): void {
  if (res.destroyed) return;
  res.writeHead(reply.status, reply.headers as http.OutgoingHttpHeaders).end(reply.body);
}
