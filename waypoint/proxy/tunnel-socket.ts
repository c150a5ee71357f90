import { constants, type Http2Stream } from 'node:http2';
import { Duplex } from 'node:stream';
import { UpstreamConnectError } from './errors.js';

/**
 * A tunnel (an HBONE CONNECT stream) dressed as the socket Node's HTTP/1.1 server and client
 * expect. Node's HTTP code writes its head as latin1 strings, which an HTTP/2 stream mangles
 * when handed them directly (the first bytes of a response arrive corrupted), and it calls
 * socket methods a stream lacks (setKeepAlive, ref, unref). Every chunk passes here as a
 * Buffer, and the socket methods are answered here.
 *
 * An upstream socket is returned to Node's Agent before its tunnel is open (`connecting`), so
 * that the Agent counts it at once and `maxSockets` holds while tunnels are being opened;
 * writes wait for the tunnel, and a failure to open it destroys the socket with an
 * UpstreamConnectError.
 */
export class TunnelSocket extends Duplex {
  /** The source workload's IP for a downstream socket; the endpoint's for an upstream one. */
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** Requests carried so far; the Agent stops reusing a socket at the pool's limit. */
  uses = 0;
  connecting: boolean;
  /** The inactivity timeout set by setTimeout, in ms; 0 for none (net.Socket's property). */
  timeout = 0;
  bytesRead = 0;
  bytesWritten = 0;
  #inner: Duplex | undefined;
  #waiting: { chunk: Buffer; callback: (error?: Error | null) => void } | undefined;
  #finalWaiting: ((error?: Error | null) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** A read was asked for before the tunnel opened; it is served once it has. */
  #readWanted = false;

  private constructor(
    remote: { address?: string; port?: number },
    options: { allowHalfOpen: boolean; connecting: boolean },
  ) {
    super({ allowHalfOpen: options.allowHalfOpen });
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    this.connecting = options.connecting;
  }

  /**
   * A downstream socket over an accepted tunnel. Half-open, as Node's HTTP server expects its
   * sockets: it decides itself what a client's half-close means.
   */
  static accepted(stream: Duplex, remote: { address: string; port?: number }): TunnelSocket {
    const socket = new TunnelSocket(remote, { allowHalfOpen: true, connecting: false });
    socket.#attach(stream);
    return socket;
  }

  /**
   * An upstream socket over a tunnel still being opened. Not half-open: when the endpoint
   * ends the connection, this side ends too and the Agent forgets the socket. A tunnel not
   * open within `connectTimeoutMs` fails as a connect failure.
   */
  static connecting(
    tunnel: Promise<Duplex>,
    remote: { address: string; port: number },
    connectTimeoutMs: number,
  ): TunnelSocket {
    const socket = new TunnelSocket(remote, { allowHalfOpen: false, connecting: true });
    const target = `${remote.address}:${remote.port}`;
    const timer = setTimeout(() => {
      socket.destroy(new UpstreamConnectError(target, `no tunnel after ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    tunnel.then(
      (stream) => {
        clearTimeout(timer);
        if (socket.destroyed) {
          stream.destroy();
          return;
        }
        socket.#attach(stream);
        socket.connecting = false;
        socket.emit('connect');
        socket.#flushWaiting();
      },
      (cause: unknown) => {
        clearTimeout(timer);
        socket.destroy(new UpstreamConnectError(target, 'the tunnel did not open', { cause }));
      },
    );
    return socket;
  }

  #attach(stream: Duplex): void {
    this.#inner = stream;
    stream.on('data', (chunk: Buffer) => {
      this.bytesRead += chunk.length;
      this.#timer?.refresh();
      if (!this.push(chunk)) stream.pause();
    });
    let ended = false;
    stream.once('end', () => {
      ended = true;
      this.push(null);
    });
    stream.once('error', (error) => this.destroy(error));
    // A stream closed without an end or an error (a reset with NO_ERROR, a drain deadline)
    // ends this socket the same way: whoever reads it sees the connection go. After a clean
    // end, what is still buffered here is read first.
    stream.once('close', () => {
      if (this.destroyed) return;
      if (ended && this.readableLength > 0) this.once('end', () => this.destroy());
      else this.destroy();
    });
    stream.pause();
    if (this.#readWanted) stream.resume();
  }

  #flushWaiting(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting) this.#writeNow(waiting.chunk, waiting.callback);
    const final = this.#finalWaiting;
    this.#finalWaiting = undefined;
    if (final) this._final(final);
  }

  override _read(): void {
    if (this.#inner === undefined) this.#readWanted = true;
    else this.#inner.resume();
  }

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    if (this.#inner === undefined) this.#waiting = { chunk, callback };
    else this.#writeNow(chunk, callback);
  }

  #writeNow(chunk: Buffer, callback: (error?: Error | null) => void): void {
    this.bytesWritten += chunk.length;
    this.#timer?.refresh();
    this.#inner!.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    const inner = this.#inner;
    if (inner === undefined) {
      this.#finalWaiting = callback;
      return;
    }
    inner.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const inner = this.#inner;
    // A tunnel closed on purpose ends with RST_STREAM(NO_ERROR): whatever this side sent
    // stands, and the peer is told only that the rest of its stream is not wanted
    // (RFC 9113 §8.1). A reset with CANCEL could make the peer drop data still in flight.
    if (error === null && inner !== undefined && isHttp2Stream(inner))
      inner.close(constants.NGHTTP2_NO_ERROR);
    else inner?.destroy(error ?? undefined);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.callback(error);
    callback(error);
  }

  /**
   * net.Socket's: ends the connection and destroys it once the end is written, without
   * waiting for the peer's end. Node's HTTP server closes a connection this way.
   */
  destroySoon(): void {
    if (this.writableFinished) {
      this.destroy();
      return;
    }
    this.once('finish', () => this.destroy());
    this.end();
  }

  /** net.Socket's inactivity timeout: 'timeout' after `ms` without a byte either way. */
  setTimeout(ms: number, listener?: () => void): this {
    this.timeout = ms;
    if (listener) this.once('timeout', listener);
    clearTimeout(this.#timer);
    this.#timer = ms === 0 ? undefined : setTimeout(() => this.emit('timeout'), ms).unref();
    return this;
  }

  // The tunnel below has its own keepalive (HTTP/2 pings) and no Nagle; and the event loop is
  // held by the HBONE connection, not by one stream.
  setKeepAlive(): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }
}

function isHttp2Stream(stream: Duplex): stream is Duplex & Http2Stream {
  return 'rstCode' in stream && typeof (stream as Partial<Http2Stream>).close === 'function';
}
