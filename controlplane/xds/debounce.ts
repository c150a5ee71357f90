/**
 * Collapses a burst of triggers into one flush: the flush runs `delayMs` after the last
 * trigger, but never later than `maxDelayMs` after the first one, so a steady trickle of
 * changes cannot postpone pushes forever (Istio's PILOT_DEBOUNCE_AFTER / _MAX play this role).
 */
export class Debouncer {
  readonly #delayMs: number;
  readonly #maxDelayMs: number;
  readonly #flush: (firstTriggerAt: number) => void;
  #timer: NodeJS.Timeout | undefined;
  #firstTriggerAt: number | undefined;

  constructor(options: {
    delayMs: number;
    maxDelayMs: number;
    /** Called with the time (performance.now()) of the burst's first trigger. */
    flush: (firstTriggerAt: number) => void;
  }) {
    this.#delayMs = options.delayMs;
    this.#maxDelayMs = Math.max(options.maxDelayMs, options.delayMs);
    this.#flush = options.flush;
  }

  trigger(): void {
    const now = performance.now();
    this.#firstTriggerAt ??= now;
    const deadline = this.#firstTriggerAt + this.#maxDelayMs;
    const wait = Math.max(0, Math.min(this.#delayMs, deadline - now));
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#fire(), wait);
  }

  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#firstTriggerAt = undefined;
  }

  #fire(): void {
    const firstTriggerAt = this.#firstTriggerAt ?? performance.now();
    this.#timer = undefined;
    this.#firstTriggerAt = undefined;
    this.#flush(firstTriggerAt);
  }
}
