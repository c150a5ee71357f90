import { MeshError } from '../errors.js';

/**
 * An HBONE tunnel could not be opened: `status` is the peer's HTTP status when it answered
 * the CONNECT with something other than 200, undefined when it never answered (TCP or TLS
 * failure, a peer identity that is not the expected one, a connection lost mid-request).
 */
export class HboneConnectError extends MeshError {
  readonly code = 'AMBIT_HBONE_CONNECT';
  readonly status: number | undefined;

  constructor(
    readonly authority: string,
    readonly peer: string,
    reason: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(`HBONE CONNECT ${authority} via ${peer} failed: ${reason}`, { cause: options.cause });
    this.status = options.status;
  }
}

/** The peer's certificate does not carry the identity this side expects of it. */
export class PeerIdentityError extends MeshError {
  readonly code = 'AMBIT_HBONE_PEER_IDENTITY';

  constructor(
    readonly presented: string | undefined,
    readonly expected: readonly string[],
  ) {
    super(
      presented === undefined
        ? 'the peer certificate carries no SPIFFE identity as its only URI SAN'
        : `the peer certificate is ${presented}, want one of ${expected.join(', ') || '(none)'}`,
    );
  }
}

/** A ping on an HBONE connection went unanswered for the ping timeout; the connection is dropped. */
export class PingTimeoutError extends MeshError {
  readonly code = 'AMBIT_HBONE_PING_TIMEOUT';

  constructor(readonly timeoutMs: number) {
    super(`an HBONE connection did not answer a ping within ${timeoutMs} ms`);
  }
}

/** The peer finished the TLS handshake without agreeing to speak HTTP/2 (ALPN `h2`). */
export class AlpnMismatchError extends MeshError {
  readonly code = 'AMBIT_HBONE_ALPN';

  constructor(readonly selected: string | false) {
    super(`the peer selected ALPN ${selected === false ? 'nothing' : selected}, want h2`);
  }
}

/** The connection to the peer closed before the TLS handshake finished. */
export class ConnectionClosedError extends MeshError {
  readonly code = 'AMBIT_HBONE_CONNECTION_CLOSED';

  constructor() {
    super('the connection closed before the TLS handshake finished');
  }
}
