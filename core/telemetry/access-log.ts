import { pino } from 'pino';

/** Where access log lines go: anything with `write(text)`; stdout by default. */
export interface LineSink {
  write(text: string): unknown;
}

/**
 * A proxy's access log: one JSON object per line on stdout (Envoy's `/dev/stdout`, what
 * Istio's access log providers write to), apart from the program's own logs on stderr.
 * Writes are buffered and asynchronous (pino's SonicBoom), so a request never waits on them.
 */
export class AccessLog {
  readonly #sink: LineSink;
  readonly #flush: (() => void) | undefined;

  constructor(sink?: LineSink) {
    if (sink !== undefined) {
      this.#sink = sink;
      return;
    }
    const stdout = pino.destination({ fd: 1, sync: false });
    this.#sink = stdout;
    this.#flush = () => stdout.flushSync();
  }

  write(entry: Readonly<Record<string, unknown>>): void {
    this.#sink.write(`${JSON.stringify(entry)}\n`);
  }

  /** Writes out what is buffered (before the program exits). */
  flush(): void {
    try {
      this.#flush?.();
    } catch {
      // Not yet open, or stdout closed: nothing more can be written anyway.
    }
  }
}
