/**
 * Delays between reconnect attempts: exponential from `initialMs`, capped at `maxMs`, each
 * drawn at random from the upper half of its step ("equal jitter"), so a control plane that
 * restarts is not hit by every client at the same instant, yet no client retries at once.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: { initialMs: number; maxMs: number; random?: () => number }) {
    this.#initialMs = options.initialMs;
    this.#maxMs = Math.max(options.maxMs, options.initialMs);
    this.#random = options.random ?? Math.random;
  }

  /** The delay before the next attempt; each call counts one more failed attempt. */
  next(): number {
    // 2 ** 30 is far past any cap; stopping there keeps the arithmetic finite.
    const step = Math.min(this.#maxMs, this.#initialMs * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(step / 2 + (this.#random() * step) / 2);
  }

  /** Called once a connection proved healthy: the next failure starts from the beginning. */
  reset(): void {
    this.#attempt = 0;
  }
}
