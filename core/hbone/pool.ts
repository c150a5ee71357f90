import {
  connect as connectHttp2,
  constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type IncomingHttpHeaders,
  type IncomingHttpStatusHeader,
  type OutgoingHttpHeaders,
} from 'node:http2';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as connectTls, type PeerCertificate, type TLSSocket } from 'node:tls';
import type { Identity } from '../identity/spiffe.js';
import type { Logger } from '../telemetry/log.js';
import { formatAuthority } from './authority.js';
import {
  certificateIdentity,
  clientSecureContext,
  type WorkloadCredentials,
} from './credentials.js';
import {
  AlpnMismatchError,
  ConnectionClosedError,
  HboneConnectError,
  PeerIdentityError,
} from './errors.js';
import { keepAlive, type PingOptions } from './keepalive.js';
import type { HboneHeaders } from './server.js';
import {
  CONNECTION_WINDOW,
  HTTP2_SETTINGS,
  MAX_CONCURRENT_STREAMS,
  MAX_SESSION_MEMORY_MB,
} from './settings.js';

export { HboneConnectError };

/** Where and as whom to open one tunnel. */
export interface TunnelTarget {
  /** Our side's certificate. */
  source: WorkloadCredentials;
  /** Where to connect: a pod's IP and 15008, or a waypoint. */
  peer: { address: string; port: number };
  /** The server certificate's identity must be one of these. */
  peerIdentities: readonly Identity[];
  /** `:authority` of the CONNECT, e.g. `10.1.2.3:8080`. */
  authority: string;
  headers?: HboneHeaders;
  /** Raw TCP to `peer` (made in the pod's netns, marked); the pool runs TLS over it. */
  createSocket: () => Socket;
}

export interface HbonePoolOptions extends PingOptions {
  logger: Logger;
  /** Streams one connection carries before another is opened; MAX_CONCURRENT_STREAMS. */
  maxStreamsPerConnection?: number;
  /** A connection with no streams for this long is closed; 60 s. */
  idleTimeoutMs?: number;
}

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const { NGHTTP2_CANCEL } = constants;

/** One HBONE connection of the pool, from the moment it is dialled. */
class PooledConnection {
  readonly key: string;
  /** `ip:port` of the peer, for errors and logs. */
  readonly peer: string;
  /** Settles once TLS and HTTP/2 are up; every caller that picked this connection waits on it. */
  ready!: Promise<ClientHttp2Session>;
  socket: TLSSocket | undefined;
  session: ClientHttp2Session | undefined;
  /** Streams open or being opened on it. */
  streams = 0;
  /** False once it may take no new streams: GOAWAY, error, idle close, pool closed. */
  usable = true;
  idleTimer: NodeJS.Timeout | undefined;

  constructor(key: string, peer: string) {
    this.key = key;
    this.peer = peer;
  }
}

/**
 * The outbound end of HBONE: HTTP/2 connections over mutual TLS, pooled per (source
 * identity, peer identities, peer address) as ztunnel does, each carrying many CONNECT
 * streams.
 */
export class HbonePool {
  readonly #options: HbonePoolOptions;
  readonly #logger: Logger;
  readonly #maxStreams: number;
  readonly #idleTimeoutMs: number;
  readonly #connections = new Map<string, PooledConnection[]>();
  #closed = false;

  constructor(options: HbonePoolOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#maxStreams = options.maxStreamsPerConnection ?? MAX_CONCURRENT_STREAMS;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  /**
   * Opens a tunnel: a CONNECT stream on a pooled connection (a new one when none for the key
   * has room). Resolves with the stream once the peer answers 200; rejects with
   * HboneConnectError otherwise.
   */
  async connect(target: TunnelTarget): Promise<Duplex> {
    const peer = formatAuthority(target.peer);
    if (this.#closed) throw new HboneConnectError(target.authority, peer, 'the pool is closed');
    const connection = this.#reserve(target, peer);
    let session: ClientHttp2Session;
    try {
      session = await connection.ready;
    } catch (err) {
      this.#release(connection);
      throw new HboneConnectError(target.authority, peer, describe(err), { cause: err });
    }
    return this.#request(connection, session, target);
  }

  /** Connections in the pool, open or being opened. */
  connections(): number {
    let count = 0;
    for (const list of this.#connections.values()) count += list.length;
    return count;
  }

  /** Destroys every connection and refuses further connect() calls. */
  close(): void {
    this.#closed = true;
    for (const list of [...this.#connections.values()]) {
      for (const connection of [...list]) {
        this.#retire(connection);
        connection.socket?.destroy();
        connection.session?.destroy();
      }
    }
  }

  /** A connection with room for one more stream, counted as taken. */
  #reserve(target: TunnelTarget, peer: string): PooledConnection {
    const key = poolKey(target, peer);
    const list = this.#connections.get(key);
    const connection = list?.find((c) => this.#hasRoom(c)) ?? this.#open(key, peer, target);
    connection.streams += 1;
    return connection;
  }

  #open(key: string, peer: string, target: TunnelTarget): PooledConnection {
    const connection = new PooledConnection(key, peer);
    connection.ready = this.#dial(connection, target);
    // Registered before any caller awaits, so a failed connection leaves the pool before
    // its callers see the failure.
    connection.ready.catch(() => this.#retire(connection));
    const list = this.#connections.get(key);
    if (list === undefined) this.#connections.set(key, [connection]);
    else list.push(connection);
    return connection;
  }

  #hasRoom(connection: PooledConnection): boolean {
    if (!connection.usable) return false;
    // Before the peer's SETTINGS arrive, nghttp2 reports no limit; ours still applies.
    const peerLimit = connection.session?.remoteSettings.maxConcurrentStreams ?? Infinity;
    return connection.streams < Math.min(this.#maxStreams, peerLimit);
  }

  #release(connection: PooledConnection): void {
    connection.streams -= 1;
    if (connection.streams > 0 || !connection.usable) return;
    // One timer per connection, re-armed each time it falls idle.
    connection.idleTimer ??= setTimeout(() => this.#idle(connection), this.#idleTimeoutMs).unref();
    connection.idleTimer.refresh();
  }

  #idle(connection: PooledConnection): void {
    if (connection.streams > 0 || !connection.usable) return;
    this.#logger.debug({ peer: connection.peer }, 'HBONE connection idle; closing');
    this.#retire(connection);
    connection.session?.close();
  }

  /** Takes a connection out of the pool; its open streams, if any, carry on. */
  #retire(connection: PooledConnection): void {
    connection.usable = false;
    if (connection.idleTimer !== undefined) clearTimeout(connection.idleTimer);
    const list = this.#connections.get(connection.key);
    if (list === undefined) return;
    const index = list.indexOf(connection);
    if (index >= 0) list.splice(index, 1);
    if (list.length === 0) this.#connections.delete(connection.key);
  }

  /** TCP (from the target), then TLS 1.3 checking the peer's identity, then HTTP/2. */
  #dial(connection: PooledConnection, target: TunnelTarget): Promise<ClientHttp2Session> {
    return new Promise((resolve, reject) => {
      let raw: Socket;
      try {
        raw = target.createSocket();
      } catch (err) {
        reject(err);
        return;
      }
      const socket = connectTls({
        socket: raw,
        secureContext: clientSecureContext(target.source),
        ALPNProtocols: ['h2'],
        checkServerIdentity: (_host: string, certificate: PeerCertificate) =>
          checkPeerIdentity(certificate, target.peerIdentities),
      });
      connection.socket = socket;
      const failed = (err: Error): void => {
        socket.destroy();
        raw.destroy();
        reject(err);
      };
      // close() destroys a socket mid-handshake without an error: that is a failure too.
      const closed = (): void => failed(new ConnectionClosedError());
      socket.once('error', failed);
      socket.once('close', closed);
      socket.once('secureConnect', () => {
        socket.off('error', failed);
        socket.off('close', closed);
        if (socket.alpnProtocol !== 'h2') {
          failed(new AlpnMismatchError(socket.alpnProtocol ?? false));
          return;
        }
        resolve(this.#startSession(connection, socket));
      });
    });
  }

  #startSession(connection: PooledConnection, socket: TLSSocket): ClientHttp2Session {
    const session = connectHttp2(`https://${connection.peer}`, {
      createConnection: () => socket,
      settings: HTTP2_SETTINGS,
      maxSessionMemory: MAX_SESSION_MEMORY_MB,
    });
    connection.session = session;
    session.setLocalWindowSize(CONNECTION_WINDOW);
    // The TLS socket is half-open capable (it wraps a pod socket that must pass half-closes
    // on); a peer that hangs up without GOAWAY, as a server refusing our certificate does,
    // would otherwise leave the session waiting for the ping timeout.
    socket.once('end', () => session.destroy());
    session.on('goaway', () => this.#retire(connection));
    session.once('close', () => this.#retire(connection));
    session.on('error', (err) =>
      this.#logger.debug({ err, peer: connection.peer }, 'HBONE connection failed'),
    );
    keepAlive(session, this.#options);
    this.#logger.debug({ peer: connection.peer }, 'HBONE connection opened');
    return session;
  }

  #request(
    connection: PooledConnection,
    session: ClientHttp2Session,
    target: TunnelTarget,
  ): Promise<Duplex> {
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(requestHeaders(target), { endStream: false });
    } catch (err) {
      this.#release(connection);
      return Promise.reject(
        new HboneConnectError(target.authority, connection.peer, describe(err), { cause: err }),
      );
    }
    stream.on('error', ignoreStreamError);
    stream.once('close', () => this.#release(connection));
    return new Promise((resolve, reject) => {
      const settle = (): void => {
        stream.off('response', answered);
        stream.off('error', failed);
        stream.off('close', failed);
      };
      const answered = (headers: IncomingHttpHeaders & IncomingHttpStatusHeader): void => {
        settle();
        const status = headers[':status'];
        if (status === 200) {
          resolve(stream);
          return;
        }
        stream.close(NGHTTP2_CANCEL);
        reject(
          new HboneConnectError(target.authority, connection.peer, `the peer answered ${status}`, {
            status,
          }),
        );
      };
      const failed = (err?: Error): void => {
        settle();
        reject(
          new HboneConnectError(
            target.authority,
            connection.peer,
            err === undefined ? 'the stream closed before the peer answered' : describe(err),
            { cause: err },
          ),
        );
      };
      stream.once('response', answered);
      stream.once('error', failed);
      stream.once('close', failed);
    });
  }
}

function poolKey(target: TunnelTarget, peer: string): string {
  return `${target.source.identity} ${[...target.peerIdentities].sort().join(',')} ${peer}`;
}

function requestHeaders(target: TunnelTarget): OutgoingHttpHeaders {
  return { ':method': 'CONNECT', ':authority': target.authority, ...target.headers };
}

/** checkServerIdentity for HBONE: the chain is already verified; the SAN must be expected. */
function checkPeerIdentity(
  certificate: PeerCertificate,
  expected: readonly Identity[],
): Error | undefined {
  const identity = certificateIdentity(certificate.raw);
  if (identity !== undefined && expected.includes(identity)) return undefined;
  return new PeerIdentityError(identity, expected);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

// Errors on a stream reach the caller through its pipe (or the rejection above); this
// listener only keeps an unobserved one from crashing the process.
function ignoreStreamError(): void {}
