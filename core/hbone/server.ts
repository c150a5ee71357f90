import {
  constants,
  createServer as createHttp2Server,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  createServer as createTlsServer,
  type Server as TlsServer,
  type TLSSocket,
} from 'node:tls';
import type { Identity } from '../identity/spiffe.js';
import type { SocketAddress } from '../net/socket.js';
import type { Logger } from '../telemetry/log.js';
import { parseAuthority } from './authority.js';
import { certificateIdentity, serverTlsOptions, type WorkloadCredentials } from './credentials.js';
import { AlpnMismatchError, PeerIdentityError } from './errors.js';
import { keepAlive, type PingOptions } from './keepalive.js';
import { CONNECTION_WINDOW, HTTP2_SETTINGS, MAX_SESSION_MEMORY_MB } from './settings.js';

/** The optional request headers HBONE carries end to end (DESIGN.md §1, HBONE row). */
export interface HboneHeaders {
  forwarded?: string;
  baggage?: string;
  traceparent?: string;
}

/** One CONNECT stream whose method and authority the server has already checked. */
export interface HboneRequest {
  readonly authority: SocketAddress;
  /** From the verified client certificate's URI SAN. */
  readonly peerIdentity: Identity;
  /** TCP peer IP of the tunnel connection. */
  readonly peerAddress: string;
  readonly headers: HboneHeaders;
  /** Answers 200 and returns the stream: bytes to and from the destination. */
  accept(): Duplex;
  /** Answers `status` and ends the stream; `reason` goes to the log, not the wire. */
  reject(status: 400 | 401 | 503, reason: string): void;
}

export interface HboneServerOptions extends PingOptions {
  /**
   * The local workload's credentials, asked at every new connection so a renewed
   * certificate serves new handshakes; undefined refuses the connection.
   */
  credentials: () => WorkloadCredentials | undefined;
  onRequest: (request: HboneRequest) => void;
  /** Told of every connection or stream refused before it reached `onRequest`, to count it. */
  onRefused?: (reason: HboneRefusal) => void;
  logger: Logger;
}

/** Why the server itself turned a peer away. */
export type HboneRefusal =
  'no_credentials' | 'handshake' | 'handshake_timeout' | 'alpn' | 'no_identity' | 'bad_request';

interface Peer {
  identity: Identity;
  address: string;
}

const { NGHTTP2_NO_ERROR } = constants;

/**
 * The inbound end of HBONE: mutual TLS 1.3 with ALPN h2 over sockets any listener accepted,
 * then one HTTP/2 CONNECT stream per tunnel.
 *
 * TLS is done by a `tls.Server` per credentials object, so that Node verifies the client
 * certificate against those credentials' roots; none of them listens, each is fed sockets
 * with `emit('connection')`. The HTTP/2 server is likewise fed the verified TLS sockets.
 */
export class HboneServer {
  readonly #options: HboneServerOptions;
  readonly #logger: Logger;
  readonly #http2: Http2Server;
  readonly #tlsServers = new WeakMap<WorkloadCredentials, TlsServer>();
  readonly #sessions = new Map<ServerHttp2Session, Peer>();
  // The peer of the TLS socket being handed to the HTTP/2 server; its 'session' event fires
  // synchronously inside that hand-off and takes it from here.
  #arriving: Peer | undefined;
  #draining = false;

  constructor(options: HboneServerOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#http2 = createHttp2Server({
      settings: HTTP2_SETTINGS,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    });
    this.#http2.on('session', (session) => this.#onSession(session));
    this.#http2.on('stream', (stream, headers) => this.#onStream(stream, headers));
  }

  /** Takes an accepted raw TCP socket and runs the TLS handshake on it. */
  handle(socket: Socket): void {
    if (this.#draining) {
      socket.destroy();
      return;
    }
    const credentials = this.#options.credentials();
    if (credentials === undefined) {
      this.#logger.warn(
        { peer: socket.remoteAddress },
        'HBONE connection refused: no certificate for this workload yet',
      );
      this.#refused('no_credentials');
      socket.destroy();
      return;
    }
    let tlsServer: TlsServer;
    try {
      tlsServer = this.#tlsServerFor(credentials);
    } catch (err) {
      this.#logger.error(
        { err, identity: credentials.identity },
        'HBONE connection refused: the workload credentials do not load into TLS',
      );
      socket.destroy();
      return;
    }
    tlsServer.emit('connection', socket);
  }

  /** Open HBONE connections (past the handshake). */
  connections(): number {
    return this.#sessions.size;
  }

  /**
   * Stops taking connections and streams (GOAWAY), lets open streams finish, and destroys
   * what is left after `deadlineMs` milliseconds.
   */
  async drain(deadlineMs: number): Promise<void> {
    this.#draining = true;
    const sessions = [...this.#sessions.keys()];
    if (sessions.length === 0) return;
    const closed = Promise.all(
      sessions.map((session) =>
        session.closed || session.destroyed
          ? undefined
          : new Promise((resolve) => session.once('close', resolve)),
      ),
    );
    for (const session of sessions) session.close();
    // At the deadline what is left is cut, and the drain is over: a session whose socket
    // died under it may never report its close.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        for (const session of sessions) {
          session.destroy();
          this.#sessions.delete(session);
        }
        resolve();
      }, deadlineMs);
    });
    await Promise.race([closed, deadline]);
    clearTimeout(timer);
  }

  #refused(reason: HboneRefusal): void {
    this.#options.onRefused?.(reason);
  }

  #tlsServerFor(credentials: WorkloadCredentials): TlsServer {
    let server = this.#tlsServers.get(credentials);
    if (server === undefined) {
      server = createTlsServer(serverTlsOptions(credentials));
      server.on('secureConnection', (socket: TLSSocket) => this.#onSecure(socket));
      server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
        // Node refuses a client certificate by hanging up after the handshake; the hang-up
        // is the error it reports, the reason is on the socket. A handshake timeout leaves
        // the socket open (and authorizationError null): it is closed here.
        socket.destroy();
        const refusal = socket.authorizationError;
        const timedOut = (err as { code?: string }).code === 'ERR_TLS_HANDSHAKE_TIMEOUT';
        this.#refused(timedOut ? 'handshake_timeout' : 'handshake');
        if (refusal == null) {
          this.#logger.info({ err, peer: socket.remoteAddress }, 'HBONE handshake failed');
        } else {
          this.#logger.warn(
            { peer: socket.remoteAddress, error: { code: String(refusal) } },
            'HBONE connection refused: the client certificate does not verify',
          );
        }
      });
      this.#tlsServers.set(credentials, server);
    }
    return server;
  }

  #onSecure(socket: TLSSocket): void {
    const address = socket.remoteAddress ?? '';
    if (this.#draining) {
      socket.destroy();
      return;
    }
    if (socket.alpnProtocol !== 'h2') {
      this.#logger.info(
        { peer: address, err: new AlpnMismatchError(socket.alpnProtocol ?? false) },
        'HBONE connection refused: the client did not offer h2',
      );
      this.#refused('alpn');
      socket.destroy();
      return;
    }
    const certificate = socket.getPeerX509Certificate();
    const identity = certificate && certificateIdentity(certificate.raw);
    if (identity === undefined) {
      this.#logger.warn(
        { peer: address, err: new PeerIdentityError(undefined, []) },
        'HBONE connection refused: the client certificate has no SPIFFE identity',
      );
      this.#refused('no_identity');
      socket.destroy();
      return;
    }
    this.#arriving = { identity, address };
    this.#http2.emit('connection', socket);
    this.#arriving = undefined;
  }

  #onSession(session: ServerHttp2Session): void {
    const peer = this.#arriving;
    if (peer === undefined) {
      session.destroy();
      return;
    }
    this.#sessions.set(session, peer);
    session.once('close', () => this.#sessions.delete(session));
    session.on('error', (err) =>
      this.#logger.info(
        { err, identity: peer.identity, peer: peer.address },
        'HBONE connection failed',
      ),
    );
    session.setLocalWindowSize(CONNECTION_WINDOW);
    keepAlive(session, this.#options);
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): void {
    stream.on('error', ignoreStreamError);
    const peer = this.#sessions.get(stream.session as ServerHttp2Session);
    if (peer === undefined) {
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      return;
    }
    const authorityHeader = headers[':authority'];
    const authority =
      headers[':method'] === 'CONNECT' && authorityHeader !== undefined
        ? parseAuthority(authorityHeader)
        : undefined;
    if (authority === undefined) {
      this.#logger.info(
        { identity: peer.identity, method: headers[':method'], authority: authorityHeader },
        'HBONE request refused: not a CONNECT to ip:port',
      );
      this.#refused('bad_request');
      answer(stream, 400);
      return;
    }
    const request = new IncomingTunnel(
      stream,
      authority,
      peer,
      hboneHeaders(headers),
      this.#logger,
    );
    try {
      this.#options.onRequest(request);
    } catch (err) {
      this.#logger.error({ err, identity: peer.identity }, 'HBONE request handler threw');
      answer(stream, 503);
    }
  }
}

class IncomingTunnel implements HboneRequest {
  readonly #stream: ServerHttp2Stream;
  readonly #logger: Logger;
  readonly peerIdentity: Identity;
  readonly peerAddress: string;

  constructor(
    stream: ServerHttp2Stream,
    readonly authority: SocketAddress,
    peer: Peer,
    readonly headers: HboneHeaders,
    logger: Logger,
  ) {
    this.#stream = stream;
    this.#logger = logger;
    this.peerIdentity = peer.identity;
    this.peerAddress = peer.address;
  }

  // The client may have given up while the caller was connecting to the destination; the
  // stream is then already closed, and the caller's pipe sees that at once.
  accept(): Duplex {
    if (!this.#stream.closed && !this.#stream.destroyed) this.#stream.respond({ ':status': 200 });
    return this.#stream;
  }

  reject(status: 400 | 401 | 503, reason: string): void {
    this.#logger.debug(
      {
        identity: this.peerIdentity,
        dst: `${this.authority.address}:${this.authority.port}`,
        status,
        reason,
      },
      'HBONE request rejected',
    );
    answer(this.#stream, status);
  }
}

/**
 * Answers with `status` and no body, then resets the stream with NO_ERROR: the response is
 * complete and the server will not read what the client may still be sending (RFC 9113 §8.1).
 */
function answer(stream: ServerHttp2Stream, status: number): void {
  if (stream.closed || stream.destroyed) return;
  stream.respond({ ':status': status }, { endStream: true });
  stream.close(NGHTTP2_NO_ERROR);
}

function hboneHeaders(headers: IncomingHttpHeaders): HboneHeaders {
  const result: HboneHeaders = {};
  for (const name of ['forwarded', 'baggage', 'traceparent'] as const) {
    const value = headers[name];
    if (typeof value === 'string') result[name] = value;
  }
  return result;
}

// A stream reset before or after accept() surfaces as an 'error'; whoever pipes the stream
// sees it through its own listener, and without one here it would crash the process.
function ignoreStreamError(): void {}
