import type { Http2Session } from 'node:http2';
import { PingTimeoutError } from './errors.js';
import { PING_INTERVAL_MS, PING_TIMEOUT_MS } from './settings.js';

export interface PingOptions {
  /** How often to ping; PING_INTERVAL_MS unless a test shortens it. */
  pingIntervalMs?: number;
  /** How long a ping may go unanswered before the session is destroyed; PING_TIMEOUT_MS. */
  pingTimeoutMs?: number;
}

/**
 * Pings `session` every interval, one ping outstanding at a time, and destroys it with a
 * PingTimeoutError once a ping has gone unanswered for the timeout (counted in whole
 * intervals, so one timer does both jobs). The timer stops when the session closes and does
 * not keep the process alive on its own.
 */
export function keepAlive(session: Http2Session, options: PingOptions): void {
  new KeepAlive(
    session,
    options.pingIntervalMs ?? PING_INTERVAL_MS,
    options.pingTimeoutMs ?? PING_TIMEOUT_MS,
  );
}

class KeepAlive {
  readonly #session: Http2Session;
  readonly #timeoutMs: number;
  readonly #ticksAllowed: number;
  readonly #timer: NodeJS.Timeout;
  #outstanding = false;
  #ticksWaited = 0;

  constructor(session: Http2Session, intervalMs: number, timeoutMs: number) {
    this.#session = session;
    this.#timeoutMs = timeoutMs;
    this.#ticksAllowed = Math.max(1, Math.ceil(timeoutMs / intervalMs));
    this.#timer = setInterval(this.#tick, intervalMs).unref();
    session.once('close', this.#stop);
  }

  readonly #tick = (): void => {
    if (this.#outstanding) {
      this.#ticksWaited += 1;
      if (this.#ticksWaited >= this.#ticksAllowed) {
        this.#stop();
        this.#session.destroy(new PingTimeoutError(this.#timeoutMs));
      }
      return;
    }
    if (this.#session.destroyed) return;
    this.#outstanding = true;
    this.#ticksWaited = 0;
    this.#session.ping(this.#answered);
  };

  // Called with an error only when the session goes away, which stops the timer anyway.
  readonly #answered = (err: Error | null): void => {
    if (err === null) this.#outstanding = false;
  };

  readonly #stop = (): void => clearInterval(this.#timer);
}
