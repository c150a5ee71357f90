import { pipeline } from 'node:stream';
import type { Duplex } from 'node:stream';

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
