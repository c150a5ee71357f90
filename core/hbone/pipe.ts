import type { Duplex, Writable } from 'node:stream';

/**
 * Carries bytes both ways between `a` and `b` with backpressure. The end of one side's
 * readable ends the other's writable (for an HTTP/2 stream, END_STREAM in either
 * direction), so half-closed connections keep working; an error or premature close on
 * either side destroys both. Resolves once both directions have ended; rejects with the
 * first error.
 *
 * An HTTP/2 stream the peer resets with NO_ERROR is a clean end, not a failure: a server
 * done with a `Connection: close` exchange may do it right after its last DATA, and what
 * is still queued toward the other side must get there.
 *
 * Node sockets only pass a peer's half-close on when made with `allowHalfOpen: true`;
 * otherwise Node ends their writable side as soon as their readable side ends.
 */
export function pipeBoth(a: Duplex, b: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    new BothWays(a, b, resolve, reject);
  });
}

/** The state of one pair of directions; created once per connection, never per chunk. */
class BothWays {
  readonly #a: Duplex;
  readonly #b: Duplex;
  readonly #resolve: () => void;
  readonly #reject: (err: Error) => void;
  #open = 2;
  #settled = false;

  constructor(a: Duplex, b: Duplex, resolve: () => void, reject: (err: Error) => void) {
    this.#a = a;
    this.#b = b;
    this.#resolve = resolve;
    this.#reject = reject;
    new Direction(a, b, this.#done);
    new Direction(b, a, this.#done);
  }

  readonly #done = (err?: Error): void => {
    if (this.#settled) return;
    if (err) {
      this.#settled = true;
      this.#a.destroy();
      this.#b.destroy();
      this.#reject(err);
      return;
    }
    this.#open -= 1;
    if (this.#open > 0) return;
    this.#settled = true;
    // Both directions ended and everything written is out: release both.
    this.#a.destroy();
    this.#b.destroy();
    this.#resolve();
  };
}

class PrematureCloseError extends Error {
  readonly code = 'ERR_STREAM_PREMATURE_CLOSE';
}

/**
 * One direction: `from`'s bytes into `to` (`pipe` keeps the backpressure and ends `to`
 * when `from` ends); done when `to` has flushed its end, or when `to` is an HTTP/2 stream
 * its peer closed cleanly (it wants nothing more).
 */
class Direction {
  readonly #from: Duplex;
  readonly #to: Duplex;
  readonly #done: (err?: Error) => void;
  #finished = false;

  constructor(from: Duplex, to: Duplex, done: (err?: Error) => void) {
    this.#from = from;
    this.#to = to;
    this.#done = done;
    from.pipe(to);
    // Before pipe's own 'data' listener, so the write it makes is corked.
    from.prependListener('data', new TurnBatch(to).onData);
    to.once('finish', this.#finish);
    from.on('error', this.#fail);
    to.on('error', this.#fail);
    from.once('close', this.#fromClosed);
    to.once('close', this.#toClosed);
  }

  readonly #finish = (): void => {
    if (this.#finished) return;
    this.#finished = true;
    this.#done();
  };

  readonly #fail = (err: Error): void => {
    if (this.#finished) return;
    this.#finished = true;
    this.#done(err);
  };

  readonly #fromClosed = (): void => {
    if (!this.#from.readableEnded && !closedCleanly(this.#from))
      this.#fail(new PrematureCloseError('the source closed before its end'));
  };

  readonly #toClosed = (): void => {
    if (this.#to.writableFinished) return;
    if (closedCleanly(this.#to)) {
      this.#from.unpipe(this.#to);
      this.#finish();
      return;
    }
    this.#fail(new PrematureCloseError('the destination closed before the end was written'));
  };
}

/** An HTTP/2 stream its peer reset with NO_ERROR. */
function closedCleanly(side: Duplex): boolean {
  return (side as Duplex & { rstCode?: number }).rstCode === 0;
}

/**
 * Below this a chunk is sent at once. HTTP/2 hands a large read over in DATA pieces of up to
 * 16 KiB, and since a 16 KiB frame plus its 9-byte header straddles two 16 KiB TLS records,
 * most pieces arrive a little short of 16 KiB: the threshold sits well below that.
 */
const SMALL_CHUNK = 4 * 1024;

/**
 * Corks a writable for the rest of the event-loop turn once data starts flowing into it,
 * so that what one read produced (an HTTP/2 stream hands over a 64 KiB read as several
 * DATA chunks) leaves in one writev instead of one write per chunk. One object per
 * direction per connection; nothing is allocated per chunk.
 */
class TurnBatch {
  readonly #to: Writable;
  #pending = false;

  constructor(to: Writable) {
    this.#to = to;
  }

  readonly onData = (chunk: Buffer): void => {
    // A small chunk is a request or a reply of its own: corking would only delay it.
    if (this.#pending || chunk.length < SMALL_CHUNK) return;
    this.#pending = true;
    this.#to.cork();
    setImmediate(this.#flush);
  };

  readonly #flush = (): void => {
    this.#pending = false;
    this.#to.uncork();
  };
}
