import type { Test } from 'tap';

/**
 * The cleanup of one benchmark run: steps run last-in first-out, once, whatever happened
 * (normal end, error, Ctrl-C). The test harness (test/support) registers its cleanup with a
 * tap Test's `teardown`, and asks `passing()` to decide whether to print its processes' logs
 * (a benchmark has no assertions to fail), so a Scope stands in for one.
 */
export class Scope {
  readonly #steps: (() => unknown)[] = [];
  #closing: Promise<void> | undefined;

  /** A step added once cleanup has begun (a process started while interrupted) runs at once. */
  teardown(step: () => unknown): void {
    if (!this.#closing) this.#steps.push(step);
    else
      void this.#closing
        .catch(() => undefined)
        .then(step)
        .catch((err: unknown) => console.error('benchmark cleanup failed:', err));
  }

  passing(): boolean {
    return true;
  }

  /** Runs every step even when some fail; rejects with all their errors. */
  close(): Promise<void> {
    this.#closing ??= this.#run();
    return this.#closing;
  }

  /** For test/support functions, which take a Test only for `teardown` and `passing`. */
  asTest(): Test {
    return this as unknown as Test;
  }

  async #run(): Promise<void> {
    const failures: unknown[] = [];
    for (const step of this.#steps.reverse()) {
      try {
        await step();
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw new AggregateError(failures, 'benchmark cleanup failed');
  }
}
