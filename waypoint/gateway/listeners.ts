import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { GatewayListener, GatewayServer } from '../../api/gateway/config.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { TunnelContext } from '../proxy/handler.js';
import type { WaypointProxy } from '../proxy/proxy.js';
import type { ServiceTarget } from '../state.js';
import { readClientHello } from './read-hello.js';
import type { GatewayState } from './state.js';
import { TlsContexts } from './tls-contexts.js';

/** How long a client has to send its ClientHello (Envoy's tls_inspector default: 15 s). */
const CLIENT_HELLO_TIMEOUT_MS = 15_000;

/**
 * The gateway's ports: one listener per configured port on `host`, opened and closed as
 * pushes add and remove them. Each connection is served by what the listener says now: plain
 * HTTP routed by Host; TLS read up to its SNI, which picks the server; a server that
 * terminates hands the decrypted stream to HTTP (HTTPS) or its TCP routes (TLS), a
 * passthrough server pipes the untouched bytes to the route its SNI picks.
 */
export class GatewayListeners {
  readonly #state: GatewayState;
  readonly #proxy: WaypointProxy;
  readonly #logger: Logger;
  readonly #host: string;
  readonly #tls: TlsContexts;
  readonly #servers = new Map<number, Server>();
  readonly #sockets = new Set<Socket>();
  #closed = false;
  /** Set while a drain waits for the last connection to close. */
  #onIdle: (() => void) | undefined;

  constructor(options: {
    state: GatewayState;
    proxy: WaypointProxy;
    logger: Logger;
    host: string;
  }) {
    this.#state = options.state;
    this.#proxy = options.proxy;
    this.#logger = options.logger;
    this.#host = options.host;
    this.#tls = new TlsContexts(options.logger);
  }

  /** Where each port listens. */
  ports(): number[] {
    return [...this.#servers.keys()].sort((a, b) => a - b);
  }

  /** Brings the open ports in line with the listeners now configured. */
  async update(listeners: readonly GatewayListener[]): Promise<void> {
    if (this.#closed) return;
    this.#tls.update(listeners);
    const wanted = new Set(listeners.map((l) => l.port));
    for (const [port, server] of this.#servers) {
      if (wanted.has(port)) continue;
      this.#servers.delete(port);
      server.close();
      this.#logger.info({ port }, 'listener closed');
    }
    for (const port of wanted) {
      if (this.#servers.has(port)) continue;
      const server = createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
        this.#accept(port, socket),
      );
      this.#servers.set(port, server);
      server.listen({ host: this.#host, port, backlog: 1024 });
      try {
        await once(server, 'listening');
        this.#logger.info({ port }, 'listener open');
      } catch (err) {
        // Another process holds the port: the rest still serve; the next push tries again.
        this.#servers.delete(port);
        this.#logger.error({ port, err }, 'listener could not open');
      }
    }
  }

  /** Stops accepting; open connections are left to the proxy's drain. */
  stopAccepting(): void {
    this.#closed = true;
    for (const server of this.#servers.values()) server.close();
    this.#servers.clear();
  }

  /** Resolves once every connection has closed, or at `deadlineMs`, whichever comes first. */
  async drained(deadlineMs: number): Promise<void> {
    if (this.#sockets.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.#onIdle = resolve;
      timer = setTimeout(resolve, deadlineMs);
    });
    clearTimeout(timer);
    this.#onIdle = undefined;
  }

  /** Cuts every connection still open. */
  destroy(): void {
    for (const socket of this.#sockets) socket.destroy();
  }

  #accept(port: number, socket: Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      if (this.#sockets.size === 0) this.#onIdle?.();
    });
    socket.on('error', (err) => this.#logger.debug({ port, err }, 'downstream connection failed'));
    const listener = this.#state.listener(port);
    if (listener === undefined) {
      socket.destroy();
      return;
    }
    switch (listener.protocol) {
      case 'http':
        this.#serveHttp(socket, socket, port, undefined);
        return;
      case 'tcp': {
        const [server] = listener.servers;
        if (server === undefined) socket.destroy();
        else this.#serveTcp(socket, socket, port, server, undefined);
        return;
      }
      default:
        void this.#acceptTls(port, listener.protocol, socket);
    }
  }

  async #acceptTls(port: number, protocol: 'https' | 'tls', socket: Socket): Promise<void> {
    const hello = await readClientHello(socket, CLIENT_HELLO_TIMEOUT_MS);
    if (socket.destroyed) return;
    if (hello.kind !== 'hello') {
      this.#logger.debug(
        { port, reason: hello.kind === 'invalid' ? hello.reason : '' },
        'not a TLS ClientHello',
      );
      socket.destroy();
      return;
    }
    const { serverName } = hello;
    const server = this.#state.serverFor(port, serverName);
    if (server === undefined) {
      // Envoy has no filter chain for the name: the handshake fails.
      this.#logger.debug({ port, sni: serverName }, 'no server for this SNI');
      socket.destroy();
      return;
    }
    if (server.tls?.mode === 'passthrough') {
      this.#serveTcp(socket, socket, port, server, serverName);
      return;
    }
    const context = this.#tls.get(server);
    if (context === undefined) {
      socket.destroy();
      return;
    }
    const tls = new TLSSocket(socket, {
      isServer: true,
      secureContext: context.secureContext,
      requestCert: context.requestCert,
      rejectUnauthorized: context.rejectUnauthorized,
      ALPNProtocols: protocol === 'https' ? ['h2', 'http/1.1'] : [],
    });
    tls.on('error', (err) => {
      this.#logger.debug({ port, sni: serverName, err }, 'TLS connection failed');
      socket.destroy();
    });
    tls.once('secure', () => {
      if (protocol === 'https') this.#serveHttp(tls, socket, port, server.origin);
      else this.#serveTcp(tls, socket, port, server, serverName);
    });
  }

  #tunnel(
    socket: Socket,
    port: number,
    target: ServiceTarget,
  ): Omit<TunnelContext, 'targetFor' | 'scheme'> {
    return {
      destination: { address: socket.localAddress ?? '0.0.0.0', port },
      target,
      sourceAddress: socket.remoteAddress ?? '',
      sourceIdentity: undefined,
    };
  }

  /** HTTP on `stream`, routed per request by Host among `server`'s hosts (or the listener's). */
  #serveHttp(stream: Duplex, socket: Socket, port: number, server: string | undefined): void {
    const state = this.#state;
    this.#proxy.serve(stream, {
      ...this.#tunnel(socket, port, state.httpTarget(port, server, '')),
      targetFor: (authority) => state.httpTarget(port, server, authority),
      scheme: stream === socket ? 'http' : 'https',
    });
  }

  /** Bytes on `stream` to the destination of the server's first route for `serverName`. */
  #serveTcp(
    stream: Duplex,
    socket: Socket,
    port: number,
    server: GatewayServer,
    serverName: string | undefined,
  ): void {
    const route = this.#state.sniRoute(server, serverName);
    if (route === undefined) {
      this.#logger.debug({ port, sni: serverName, server: server.origin }, 'no TCP route; closed');
      stream.destroy();
      socket.destroy();
      return;
    }
    const config = this.#state.config;
    const target: ServiceTarget = {
      service: {
        namespace: config?.namespace ?? '',
        name: config?.name ?? '',
        hostname: serverName ?? server.origin,
        vips: [],
        ports: [{ port, protocol: 'tcp' }],
        http: [],
        tcp: [{ origin: route.origin, ports: [], destinations: route.destinations }],
        clusters: [],
        waypoint: '',
      },
      port: { port, protocol: 'tcp' },
      routes: [],
    };
    this.#proxy.serve(stream, this.#tunnel(socket, port, target));
  }
}
