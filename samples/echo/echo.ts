import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { hostname } from 'node:os';
import type { Readable } from 'node:stream';
import { DEFAULT_BEHAVIOUR, decide, type EchoBehaviour } from './behaviour.js';
import { httpbinBody, httpbinRoute } from './httpbin.js';
import { sniffProtocol } from './sniff.js';

/** What the echo answers, as JSON, to every request but `/health`. */
export interface EchoReply {
  readonly version: string;
  /** The pod that answered (the host name unless told). */
  readonly pod: string;
  readonly protocol: 'HTTP/1.1' | 'HTTP/2';
  readonly method: string;
  /** As received: path and query. */
  readonly path: string;
  /** `Host`, or `:authority` over HTTP/2. */
  readonly host: string;
  /** Request headers as received (lower-case names; no HTTP/2 pseudo-headers). */
  readonly headers: Readonly<Record<string, string | readonly string[]>>;
  readonly bodyLength: number;
  /** The TCP peer of the connection that carried the request. */
  readonly sourceAddress: string;
  /** This server's count of requests so far, this one included. */
  readonly served: number;
}

export interface EchoOptions {
  /** Reported as `version` (the `version` label of the pod, say `v1`). */
  readonly version: string;
  /** Reported as `pod`; the host name by default (pods in a netns share the host's). */
  readonly name?: string;
  readonly behaviour?: Partial<EchoBehaviour>;
  /** Also answer httpbin's paths (samples/echo/httpbin.ts), standing in for httpbin. */
  readonly httpbin?: boolean;
}

export interface EchoServer {
  readonly version: string;
  readonly name: string;
  /** The server-wide behaviour; tests may change its fields between requests. */
  readonly behaviour: EchoBehaviour;
  /** Requests received so far, `/health` not counted. */
  readonly served: number;
  /**
   * Serves one accepted connection: HTTP/1.1, or HTTP/2 with prior knowledge (h2c), told
   * apart by the connection preface. Bound, so it can be handed to any listener as is.
   */
  readonly handle: (socket: net.Socket) => void;
  /** Listens on its own (the program's way); resolves with the bound address. */
  listen(options: { host?: string; port: number }): Promise<net.AddressInfo>;
  /** Stops listening (if it did) and destroys every connection it is serving. */
  close(): Promise<void>;
}

/** One request, whichever protocol carried it. */
interface Exchange {
  readonly protocol: EchoReply['protocol'];
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly headers: Record<string, string | string[]>;
  readonly sourceAddress: string;
  readonly body: Readable;
  reply(status: number, headers: Record<string, string>, body: string): void;
  reset(): void;
  /** Called when the client goes away before the answer. */
  onClose(listener: () => void): void;
}

export function createEchoServer(options: EchoOptions): EchoServer {
  const name = options.name ?? hostname();
  const { version } = options;
  const behaviour: EchoBehaviour = { ...DEFAULT_BEHAVIOUR, ...options.behaviour };
  const sockets = new Set<net.Socket>();
  let served = 0;
  let listener: net.Server | undefined;

  const identify = { 'x-echo-version': version, 'x-echo-pod': name };
  const json = (value: unknown) => JSON.stringify(value);
  const serve = (exchange: Exchange): void => {
    let bodyLength = 0;
    exchange.body.on('data', (chunk: Buffer) => (bodyLength += chunk.length));
    exchange.body.on('end', () => {
      if (exchange.method === 'GET' && exchange.path === '/health') {
        exchange.reply(200, identify, json({ status: 'ok', version, pod: name }));
        return;
      }
      const number = ++served;
      const httpbin = options.httpbin === true ? httpbinRoute(exchange.path) : undefined;
      if (httpbin?.kind === 'status') {
        exchange.reply(httpbin.status, identify, '');
        return;
      }
      if (httpbin?.kind === 'headers' || httpbin?.kind === 'get') {
        exchange.reply(200, identify, httpbinBody(httpbin, exchange));
        return;
      }
      const decided = decide(behaviour, number, exchange.headers);
      const action =
        httpbin?.kind === 'delay' && decided.kind === 'reply'
          ? { ...decided, delayMs: httpbin.delayMs }
          : decided;
      if (action.kind === 'bad-request') {
        exchange.reply(400, identify, json({ error: action.reason }));
        return;
      }
      const answer = (): void => {
        if (action.kind === 'reset') return exchange.reset();
        const reply: EchoReply = {
          version,
          pod: name,
          protocol: exchange.protocol,
          method: exchange.method,
          path: exchange.path,
          host: exchange.host,
          headers: exchange.headers,
          bodyLength,
          sourceAddress: exchange.sourceAddress,
          served: number,
        };
        exchange.reply(action.status, identify, json(reply));
      };
      if (action.delayMs === 0) return answer();
      const timer = setTimeout(answer, action.delayMs);
      exchange.onClose(() => clearTimeout(timer));
    });
  };

  const http1 = http.createServer((req, res) => serve(fromHttp1(req, res)));
  const h2c = http2.createServer((req, res) => serve(fromHttp2(req, res)));
  // A backend that answers slowly on purpose must not have its idle connections cut first.
  http1.keepAliveTimeout = 60_000;

  const handle = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    sniffProtocol(socket, (protocol) =>
      (protocol === 'h2c' ? h2c : http1).emit('connection', socket),
    );
  };

  return {
    version,
    name,
    behaviour,
    get served() {
      return served;
    },
    handle,
    listen: ({ host = '0.0.0.0', port }) =>
      new Promise((resolve, reject) => {
        const server = net.createServer({ allowHalfOpen: true }, handle);
        server.once('error', reject);
        server.listen({ host, port }, () => {
          server.off('error', reject);
          listener = server;
          resolve(server.address() as net.AddressInfo);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (listener === undefined) return resolve();
        listener.close(() => resolve());
      }),
  };
}

function fromHttp1(req: http.IncomingMessage, res: http.ServerResponse): Exchange {
  return {
    protocol: 'HTTP/1.1',
    method: req.method ?? '',
    path: req.url ?? '',
    host: req.headers.host ?? '',
    headers: withoutUndefined(req.headers),
    sourceAddress: req.socket.remoteAddress ?? '',
    body: req,
    reply: (status, headers, body) =>
      res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(body),
    reset: () => req.socket.destroy(),
    onClose: (listener) => res.once('close', listener),
  };
}

function fromHttp2(req: http2.Http2ServerRequest, res: http2.Http2ServerResponse): Exchange {
  const headers = withoutUndefined(req.headers);
  for (const name of Object.keys(headers)) if (name.startsWith(':')) delete headers[name];
  return {
    protocol: 'HTTP/2',
    method: req.method,
    path: req.url,
    host: req.authority,
    headers,
    sourceAddress: req.socket.remoteAddress ?? '',
    body: req,
    reply: (status, headers, body) =>
      res.writeHead(status, { ...headers, 'content-type': 'application/json' }).end(body),
    reset: () => req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR),
    onClose: (listener) => res.once('close', listener),
  };
}

function withoutUndefined(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = value;
  return out;
}
