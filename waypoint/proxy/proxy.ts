import {
  createServer as createHttp1Server,
  type Server as Http1Server,
  type ServerResponse,
} from 'node:http';
import {
  createServer as createHttp2Server,
  type Http2Server,
  type ServerHttp2Session,
} from 'node:http2';
import type { Duplex } from 'node:stream';
import type { HboneRequest } from '../../core/hbone/server.js';
import type { Logger } from '../../core/telemetry/log.js';
import { JwksCache } from '../authn/jwks-cache.js';
import type { WaypointState } from '../state.js';
import { http1Downstream, http2Downstream } from './downstream.js';
import type { RequestTracing } from '../telemetry/tracing.js';
import type { PathNormalization } from '../authz/normalize-path.js';
import { handleRequest, type HandlerContext, type TunnelContext } from './handler.js';
import type { RequestDoneHook } from './record.js';
import { detectProtocol } from './sniff.js';
import { sourceAddressOf } from './source.js';
import { forwardTcp, type TcpContext } from './tcp.js';
import { TunnelSocket } from './tunnel-socket.js';
import type { TunnelFactory } from './tunnels.js';
import { Upstreams } from './upstreams.js';

/** Envoy's default idle timeout of a downstream HTTP connection: one hour. */
const DOWNSTREAM_IDLE_TIMEOUT_MS = 60 * 60 * 1000;

export interface WaypointProxyOptions {
  readonly state: WaypointState;
  /** How upstream endpoints are reached: HBONE in the mesh, a test double in unit tests. */
  readonly tunnels: TunnelFactory;
  readonly logger: Logger;
  /** Uniform in [0, 1); Math.random unless a test fixes it. */
  readonly random?: () => number;
  /** Told of every finished HTTP request (telemetry). */
  readonly onRequestDone?: RequestDoneHook;
  /** Starts each request's span (telemetry); absent: trace headers pass untouched. */
  readonly tracing?: RequestTracing;
  /** MeshConfig `pathNormalization` now; absent: DECODE_AND_MERGE_SLASHES. */
  readonly pathNormalization?: () => PathNormalization;
}

/** An HTTP/1.1 connection (one tunnel) and the responses it has in flight. */
interface Http1Connection {
  readonly tunnel: TunnelContext;
  readonly responses: Set<ServerResponse>;
}

/**
 * The waypoint's data path behind its HBONE server: each CONNECT stream names a service VIP
 * and port; its first bytes say whether it carries HTTP/1.1, HTTP/2 (prior knowledge) or
 * something else, which go to an HTTP/1.1 server, an h2c server, or the TCP proxy. Neither
 * server listens: each is fed tunnels with `emit('connection')`.
 */
export class WaypointProxy {
  readonly #state: WaypointState;
  readonly #logger: Logger;
  readonly #tcp: TcpContext;
  readonly #upstreams: Upstreams;
  readonly #context: HandlerContext;
  readonly #http1: Http1Server;
  readonly #http2: Http2Server;
  readonly #http1Connections = new Map<TunnelSocket, Http1Connection>();
  readonly #http2Sessions = new Map<ServerHttp2Session, TunnelContext>();
  /** The tunnel of the socket being handed to the h2c server; its 'session' takes it. */
  #arriving: TunnelContext | undefined;
  readonly #sweeps = new Map<string, { intervalMs: number; timer: NodeJS.Timeout }>();
  #draining = false;

  constructor(options: WaypointProxyOptions) {
    const random = options.random ?? Math.random;
    this.#state = options.state;
    this.#logger = options.logger;
    this.#upstreams = new Upstreams(options.tunnels);
    this.#tcp = { state: options.state, tunnels: options.tunnels, random, logger: options.logger };
    this.#context = {
      state: options.state,
      upstreams: this.#upstreams,
      random,
      logger: options.logger,
      onRequestDone: options.onRequestDone ?? (() => undefined),
      jwks: new JwksCache({ logger: options.logger }),
      ...(options.tracing === undefined ? {} : { tracing: options.tracing }),
      ...(options.pathNormalization === undefined
        ? {}
        : { pathNormalization: options.pathNormalization }),
    };
    this.#http1 = createHttp1Server({ requestTimeout: 0 }, (req, res) => {
      const socket = req.socket as unknown as TunnelSocket;
      const connection = this.#http1Connections.get(socket);
      if (connection === undefined) {
        socket.destroy();
        return;
      }
      connection.responses.add(res);
      res.once('close', () => {
        connection.responses.delete(res);
        if (this.#draining && connection.responses.size === 0) socket.end();
      });
      if (this.#draining) res.setHeader('connection', 'close');
      void handleRequest(http1Downstream(req, res), connection.tunnel, this.#context);
    });
    this.#http1.keepAliveTimeout = DOWNSTREAM_IDLE_TIMEOUT_MS;
    // Node's own handler writes its 400 and then destroys the socket with the parse error,
    // which resets the tunnel right behind the reply and loses it. Like Envoy: answer 400,
    // then close cleanly.
    this.#http1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // Headers past Node's limit (16 KiB) get 431, as Envoy answers past its own.
      const status =
        err.code === 'HPE_HEADER_OVERFLOW'
          ? '431 Request Header Fields Too Large'
          : '400 Bad Request';
      if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
      else socket.destroy();
    });
    this.#http2 = createHttp2Server();
    this.#http2.on('session', (session: ServerHttp2Session) => {
      const tunnel = this.#arriving;
      if (tunnel === undefined) {
        session.destroy();
        return;
      }
      this.#http2Sessions.set(session, tunnel);
      session.once('close', () => this.#http2Sessions.delete(session));
      session.on('error', (err) => this.#logger.debug({ err }, 'h2c session failed'));
      if (this.#draining) session.close();
    });
    this.#http2.on('request', (req, res) => {
      const tunnel = this.#http2Sessions.get(req.stream.session as ServerHttp2Session);
      if (tunnel === undefined) {
        req.stream.close();
        return;
      }
      void handleRequest(http2Downstream(req, res), tunnel, this.#context);
    });
    this.#state.onClustersChanged((clusters) => {
      this.#upstreams.reconcile(clusters);
      this.#scheduleSweeps();
    });
    this.#scheduleSweeps();
  }

  /** One CONNECT stream on the waypoint's HBONE listener. */
  handleTunnel(request: HboneRequest): void {
    const { address, port } = request.authority;
    const target = this.#state.target(address, port);
    if (target === undefined) {
      // Istio's waypoint has no listener for an address it does not serve: no route (NR).
      this.#logger.info(
        { dst: `${address}:${port}`, identity: request.peerIdentity },
        'tunnel to a destination this waypoint does not serve',
      );
      request.reject(503, 'no service bound to this waypoint at that address');
      return;
    }
    const tunnel: TunnelContext = {
      destination: { address, port },
      target,
      sourceAddress: sourceAddressOf(request),
      sourceIdentity: request.peerIdentity,
    };
    this.serve(request.accept(), tunnel);
  }

  /**
   * Serves one accepted byte stream for `tunnel`: TCP for a TCP port, else HTTP/1.1 or h2c by
   * its first bytes. The HBONE listener's tunnels come here, and an ingress gateway's
   * connections (plain or after TLS termination).
   */
  serve(stream: Duplex, tunnel: TunnelContext): void {
    const { target } = tunnel;
    if (target.port.protocol === 'tcp') {
      void forwardTcp(stream, tunnel, this.#tcp);
      return;
    }
    void detectProtocol(stream).then(({ protocol, ended }) => {
      if (stream.destroyed) return;
      if (protocol === 'http2') this.#serveHttp2(stream, tunnel);
      else if (protocol === 'http1') this.#serveHttp1(stream, tunnel);
      else if (target.port.protocol === 'auto') void forwardTcp(stream, tunnel, this.#tcp, ended);
      // A port declared HTTP is parsed as HTTP: what is not gets Node's 400, as from Envoy.
      else if (ended === undefined) this.#serveHttp1(stream, tunnel);
      // ...unless the client already hung up without finishing a request line.
      else stream.destroy();
    });
  }

  #serveHttp1(stream: Duplex, tunnel: TunnelContext): void {
    const socket = TunnelSocket.accepted(stream, { address: tunnel.sourceAddress });
    this.#http1Connections.set(socket, { tunnel, responses: new Set() });
    socket.once('close', () => this.#http1Connections.delete(socket));
    this.#http1.emit('connection', socket);
  }

  #serveHttp2(stream: Duplex, tunnel: TunnelContext): void {
    this.#arriving = tunnel;
    this.#http2.emit(
      'connection',
      TunnelSocket.accepted(stream, { address: tunnel.sourceAddress }),
    );
    this.#arriving = undefined;
  }

  /**
   * Starts a graceful drain: HTTP/1.1 connections close once idle (a response in flight
   * carries `connection: close`), h2c sessions get GOAWAY. Tunnels themselves are drained by
   * the HBONE server.
   */
  drain(): void {
    this.#draining = true;
    for (const [socket, { responses }] of this.#http1Connections) {
      if (responses.size === 0) socket.end();
      for (const res of responses) if (!res.headersSent) res.setHeader('connection', 'close');
    }
    for (const session of this.#http2Sessions.keys()) session.close();
  }

  /** Stops timers and closes every upstream connection. */
  close(): void {
    for (const { timer } of this.#sweeps.values()) clearInterval(timer);
    this.#sweeps.clear();
    this.#upstreams.close();
    for (const session of this.#http2Sessions.keys()) session.destroy();
    for (const socket of this.#http1Connections.keys()) socket.destroy();
  }

  /** One outlier-detection interval timer per cluster that has detection. */
  #scheduleSweeps(): void {
    const clusters = this.#state.clusters();
    for (const [name, sweep] of this.#sweeps) {
      const intervalMs = clusters.get(name)?.cluster.policy.outlierDetection?.intervalMs;
      if (intervalMs === sweep.intervalMs) continue;
      clearInterval(sweep.timer);
      this.#sweeps.delete(name);
    }
    for (const [name, cluster] of clusters) {
      const intervalMs = cluster.cluster.policy.outlierDetection?.intervalMs;
      if (intervalMs === undefined || this.#sweeps.has(name)) continue;
      const timer = setInterval(() => {
        for (const host of this.#state.cluster(name)?.sweep() ?? [])
          this.#logger.info({ cluster: name, endpoint: host.key }, 'endpoint readmitted');
      }, intervalMs).unref();
      this.#sweeps.set(name, { intervalMs, timer });
    }
  }
}
