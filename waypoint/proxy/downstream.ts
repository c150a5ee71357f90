import type { IncomingMessage, ServerResponse } from 'node:http';
import { constants, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import type { Readable } from 'node:stream';
import { endToEndHeaders, type HeaderMap } from './headers.js';

/**
 * One request as the waypoint received it, HTTP/1.1 or HTTP/2 alike: what routing reads and
 * how a response goes back.
 */
export interface Downstream {
  readonly protocol: 'http1' | 'http2';
  readonly method: string;
  /** Path and query as received. */
  readonly path: string;
  /** `Host` or `:authority`. */
  readonly authority: string;
  /** End-to-end headers, lower-case names (no hop-by-hop, pseudo or host headers). */
  readonly headers: HeaderMap;
  /** True when a body follows the headers (possibly empty). */
  readonly hasBody: boolean;
  readonly body: Readable;
  /** True once the response head has gone out. */
  readonly responseStarted: boolean;
  /** True once the client went away or the response is complete. */
  readonly closed: boolean;
  /** Settles when the response is complete or the client went away. */
  readonly done: Promise<void>;
  /** A whole response; the body, if any, in one piece. */
  respond(status: number, headers: HeaderMap, body?: string | Buffer): void;
  /** Sends the head and returns the writable to stream the body into. */
  startResponse(status: number, headers: HeaderMap): NodeJS.WritableStream;
  /** Breaks the response off: the client sees a reset, never a short but valid answer. */
  reset(): void;
  /** Called once, when the client goes away before the response is complete. */
  onAbort(listener: () => void): void;
}

/** An HTTP/1.1 request on the waypoint's server. */
export function http1Downstream(req: IncomingMessage, res: ServerResponse): Downstream {
  const headers = endToEndHeaders(req.headersDistinct);
  const hasBody =
    req.headers['transfer-encoding'] !== undefined ||
    (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
  return new ResponseAdapter(
    'http1',
    req.method ?? 'GET',
    req.url ?? '/',
    req.headers.host ?? '',
    headers,
    hasBody,
    req,
    res,
    // The message framing is broken: only closing the connection tells the client.
    () => req.socket.destroy(),
  );
}

/** An HTTP/2 request on the waypoint's h2c server. */
export function http2Downstream(req: Http2ServerRequest, res: Http2ServerResponse): Downstream {
  return new ResponseAdapter(
    'http2',
    req.method,
    req.url,
    req.authority || (req.headers.host ?? ''),
    endToEndHeaders(req.headers),
    !req.stream.endAfterHeaders,
    req,
    res,
    () => req.stream.close(constants.NGHTTP2_INTERNAL_ERROR),
  );
}

type ServerResponseLike = ServerResponse | Http2ServerResponse;

class ResponseAdapter implements Downstream {
  readonly #res: ServerResponseLike;
  readonly #reset: () => void;
  #complete = false;
  #abortListeners: (() => void)[] = [];
  readonly done: Promise<void>;

  constructor(
    readonly protocol: 'http1' | 'http2',
    readonly method: string,
    readonly path: string,
    readonly authority: string,
    readonly headers: HeaderMap,
    readonly hasBody: boolean,
    readonly body: Readable,
    res: ServerResponseLike,
    reset: () => void,
  ) {
    this.#res = res;
    this.#reset = reset;
    let settle!: () => void;
    this.done = new Promise((resolve) => (settle = resolve));
    res.once('finish', () => {
      this.#complete = true;
      settle();
    });
    res.once('close', () => {
      const aborted = !this.#complete;
      this.#complete = true;
      settle();
      if (aborted) for (const listener of this.#abortListeners.splice(0)) listener();
    });
  }

  get responseStarted(): boolean {
    return this.#res.headersSent;
  }

  get closed(): boolean {
    return this.#complete;
  }

  respond(status: number, headers: HeaderMap, body?: string | Buffer): void {
    if (this.#complete || this.#res.headersSent) return;
    const length = body === undefined ? 0 : Buffer.byteLength(body);
    writeHead(this.#res, status, { ...headers, 'content-length': String(length) });
    if (body === undefined) this.#res.end();
    else this.#res.end(body);
  }

  startResponse(status: number, headers: HeaderMap): NodeJS.WritableStream {
    writeHead(this.#res, status, headers);
    return this.#res;
  }

  reset(): void {
    if (this.#complete) return;
    this.#reset();
  }

  onAbort(listener: () => void): void {
    if (this.#complete) return;
    this.#abortListeners.push(listener);
  }
}

/** writeHead of either server's response; Node refuses undefined header values. */
function writeHead(res: ServerResponseLike, status: number, headers: HeaderMap): void {
  const defined: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined) defined[name] = value;
  if ('stream' in res) res.writeHead(status, defined);
  else res.writeHead(status, defined);
}
