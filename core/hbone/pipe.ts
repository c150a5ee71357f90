import { pipeline } from 'node:stream';
import type { Duplex, Writable } from 'node:stream';

/**
 * Carries bytes both ways between `a` and `b` with backpressure. The end of one side's
 * readable ends the other's writable (for an HTTP/2 stream, END_STREAM in either
 * direction), so half-closed connections keep working; an error or premature close on
 * either side destroys both. Resolves once both directions have ended; rejects with the
 * first error.
 *
 * Node sockets only pass a peer's half-close on when made with `allowHalfOpen: true`;
 * otherwise Node ends their writable side as soon as their readable side ends.
 */
export function pipeBoth(a: Duplex, b: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    new BothWays(a, b, resolve, reject);
  });
}

/** The state of one pair of pipelines; created once per connection, never per chunk. */
class BothWays {
  readonly #a: Duplex;
  readonly #b: Duplex;
  readonly #resolve: () => void;
  readonly #reject: (err: Error) => void;
  #open = 2;
  #failed = false;

  constructor(a: Duplex, b: Duplex, resolve: () => void, reject: (err: Error) => void) {
    this.#a = a;
    this.#b = b;
    this.#resolve = resolve;
    this.#reject = reject;
    pipeline(a, b, this.#done);
    pipeline(b, a, this.#done);
    // Before the pipelines' own 'data' listeners, so the write they make is corked.
    a.prependListener('data', new TurnBatch(b).onData);
    b.prependListener('data', new TurnBatch(a).onData);
  }

  readonly #done = (err?: Error | null): void => {
    if (this.#failed) return;
    if (err) {
      this.#failed = true;
      this.#a.destroy();
      this.#b.destroy();
      this.#reject(err);
      return;
    }
    this.#open -= 1;
    if (this.#open === 0) this.#resolve();
  };
}

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

  readonly onData = (): void => {
    if (this.#pending) return;
    this.#pending = true;
    this.#to.cork();
    setImmediate(this.#flush);
  };

  readonly #flush = (): void => {
    this.#pending = false;
    this.#to.uncork();
  };
}
