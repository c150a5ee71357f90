import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AttemptOutcome } from '../cluster/attempt-outcome.js';
import type { RequestBody } from './body.js';
import type { EndpointAgent } from './endpoint-agent.js';
import { UpstreamConnectError } from './errors.js';
import type { HeaderMap } from './headers.js';
import { TunnelSocket } from './tunnel-socket.js';

/** The request as it goes upstream, after rewrites and header operations. */
export interface UpstreamRequest {
  readonly method: string;
  readonly path: string;
  /** Including `host`. */
  readonly headers: HeaderMap;
}

/** How one attempt ended before its response was passed on. */
export type AttemptResult =
  | {
      readonly kind: 'response';
      readonly outcome: Extract<AttemptOutcome, { kind: 'response' }>;
      readonly response: IncomingMessage;
    }
  | {
      readonly kind: 'failed';
      readonly outcome: Exclude<AttemptOutcome, { kind: 'response' }>;
      readonly error?: unknown;
    };

/** One request to one endpoint, in flight. */
export interface Attempt {
  /** Settles once the response head arrives or the attempt fails; never rejects. */
  readonly result: Promise<AttemptResult>;
  /** The upstream exchange, to break off once its response is being passed on. */
  readonly request: ClientRequest;
  /** Ends the attempt now (a timeout, the client gone); `result` settles with `outcome`. */
  abort(outcome: Exclude<AttemptOutcome, { kind: 'response' }>): void;
}

export interface AttemptOptions {
  readonly agent: EndpointAgent;
  readonly request: UpstreamRequest;
  /** The body to send, or undefined for a request without one. */
  readonly body: RequestBody | undefined;
  /** Called once, when the request holds an open connection (it waited as a pending request). */
  readonly onConnected?: () => void;
}

/**
 * Sends one attempt over the endpoint's pool: HTTP/1.1 on a reused or new tunnel. Failures
 * become outcomes retry and outlier detection read: a tunnel that did not open is a
 * connect failure, a connection lost before the response head is a reset.
 */
export function sendAttempt(options: AttemptOptions): Attempt {
  const { agent, request, body } = options;
  let settle!: (result: AttemptResult) => void;
  let settled = false;
  const result = new Promise<AttemptResult>((resolve) => {
    settle = (value) => {
      if (settled) return;
      settled = true;
      resolve(value);
    };
  });
  let connected = false;
  const req = httpRequest({
    ...agent.requestOptions(),
    method: request.method,
    path: request.path,
    headers: request.headers,
    setHost: false,
  });
  req.once('socket', (socket: Duplex) => {
    const ready = (): void => {
      connected = true;
      if (socket instanceof TunnelSocket) socket.uses += 1;
      options.onConnected?.();
    };
    if (socket instanceof TunnelSocket && socket.connecting) socket.once('connect', ready);
    else ready();
  });
  req.once('response', (response) => {
    settle({
      kind: 'response',
      outcome: { kind: 'response', status: response.statusCode ?? 0, headers: response.headers },
      response,
    });
  });
  req.on('error', (error) => {
    settle(
      error instanceof UpstreamConnectError || !connected
        ? { kind: 'failed', outcome: { kind: 'connect-failure' }, error }
        : { kind: 'failed', outcome: { kind: 'reset' }, error },
    );
  });
  if (body === undefined) req.end();
  else body.sendTo(req);
  return {
    result,
    request: req,
    abort(outcome) {
      settle({ kind: 'failed', outcome });
      body?.detach();
      req.destroy();
    },
  };
}
