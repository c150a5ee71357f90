import type { Readable, Writable } from 'node:stream';

/**
 * How much of a request body is kept so that a retry or a mirror can send it again: Envoy's
 * default per-connection buffer limit, beyond which it gives up retrying a request.
 */
export const REPLAY_LIMIT_BYTES = 1024 * 1024;

/**
 * A downstream request body, streamed to one upstream attempt at a time and kept (up to a
 * limit) so the next attempt can send it from its first byte. Reading follows the attempt's
 * backpressure; between attempts nothing is read, so nothing is lost.
 */
export class RequestBody {
  readonly #source: Readable;
  readonly #limit: number;
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  #size = 0;
  #overflowed = false;
  #ended = false;
  #started = false;
  #sink: Writable | undefined;
  #waiters: ((body: Buffer | undefined) => void)[] = [];

  constructor(source: Readable, limit = REPLAY_LIMIT_BYTES) {
    this.#source = source;
    this.#limit = limit;
  }

  /** True while every byte read so far is still kept: another attempt can send it whole. */
  get replayable(): boolean {
    return !this.#overflowed;
  }

  /** Bytes read from downstream so far. */
  get size(): number {
    return this.#size;
  }

  /**
   * Streams the body into `sink`: the kept bytes, then the rest as it arrives, ending `sink`
   * at the end. Replaces the previous sink, which gets nothing more.
   */
  sendTo(sink: Writable): void {
    this.#start();
    this.#sink = sink;
    let flowing = true;
    for (const chunk of this.#chunks) flowing = sink.write(chunk);
    if (this.#ended) sink.end();
    else if (flowing) this.#source.resume();
    else sink.once('drain', this.#resume);
  }

  /** The current sink gets nothing more (its attempt failed); reading pauses. */
  detach(): void {
    this.#sink?.off('drain', this.#resume);
    this.#sink = undefined;
    this.#source.pause();
  }

  /**
   * The whole body once downstream has sent it, or undefined if it was too large to keep or
   * the request ended without reading it all (for mirrors, which never wait on their own).
   */
  whole(): Promise<Buffer | undefined> {
    if (this.#ended)
      return Promise.resolve(
        this.#overflowed ? undefined : Buffer.concat(this.#chunks, this.#kept),
      );
    if (this.#overflowed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** The request is over: whoever still waits for the whole body gets nothing. */
  dispose(): void {
    this.detach();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
    this.#chunks.length = 0;
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#source.on('data', this.#onData);
    this.#source.once('end', this.#onEnd);
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#size += chunk.length;
    if (!this.#overflowed) {
      if (this.#kept + chunk.length > this.#limit) {
        this.#overflowed = true;
        this.#chunks.length = 0;
        for (const waiter of this.#waiters.splice(0)) waiter(undefined);
      } else {
        this.#chunks.push(chunk);
        this.#kept += chunk.length;
      }
    }
    const sink = this.#sink;
    if (sink === undefined) {
      this.#source.pause();
      return;
    }
    if (!sink.write(chunk)) {
      this.#source.pause();
      sink.once('drain', this.#resume);
    }
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#sink?.end();
    const whole = this.#overflowed ? undefined : Buffer.concat(this.#chunks, this.#kept);
    for (const waiter of this.#waiters.splice(0)) waiter(whole);
  };

  readonly #resume = (): void => {
    // Only the current sink's drain counts; a detached one's may still fire.
    if (this.#sink !== undefined && !this.#sink.writableNeedDrain) this.#source.resume();
  };
}
