import type { ConnectionPool } from '../../api/waypoint/config.js';

/**
 * One of Envoy's circuit-breaker resources: a gauge with a ceiling. Istio leaves a limit
 * of 0 unset (its FIXME: it cannot tell 0 from absent), and unset is 2^32 - 1 — unlimited.
 */
class Resource {
  #count = 0;
  #max = Infinity;

  setMax(max: number): void {
    this.#max = max > 0 ? max : Infinity;
  }

  get count(): number {
    return this.#count;
  }

  tryAcquire(): boolean {
    if (this.#count >= this.#max) return false;
    this.#count++;
    return true;
  }

  // A release without its acquire is a caller's bug; the gauge stays at zero rather than
  // going negative and granting one request too many forever after.
  release(): void {
    if (this.#count > 0) this.#count--;
  }
}

/**
 * A cluster's circuit breakers with Envoy's counters: `maxConnections`,
 * `http1MaxPendingRequests` (requests waiting for a connection), `http2MaxRequests`
 * (requests in flight) and `maxRetries` (retries in flight). A `try…` that returns false is
 * an overflow: the caller answers 503 with response flag UO. Every `try…` that returned true
 * needs exactly one matching `release…`. Limits change with config; counts carry over.
 */
export class CircuitBreaker {
  readonly #connections = new Resource();
  readonly #pending = new Resource();
  readonly #requests = new Resource();
  readonly #retries = new Resource();

  constructor(pool: ConnectionPool) {
    this.setLimits(pool);
  }

  setLimits(pool: ConnectionPool): void {
    this.#connections.setMax(pool.maxConnections);
    this.#pending.setMax(pool.http1MaxPendingRequests);
    this.#requests.setMax(pool.http2MaxRequests);
    this.#retries.setMax(pool.maxRetries);
  }

  tryConnection(): boolean {
    return this.#connections.tryAcquire();
  }
  releaseConnection(): void {
    this.#connections.release();
  }

  tryPending(): boolean {
    return this.#pending.tryAcquire();
  }
  releasePending(): void {
    this.#pending.release();
  }

  tryRequest(): boolean {
    return this.#requests.tryAcquire();
  }
  releaseRequest(): void {
    this.#requests.release();
  }

  tryRetry(): boolean {
    return this.#retries.tryAcquire();
  }
  releaseRetry(): void {
    this.#retries.release();
  }

  /** What is held now, for metrics and the admin dump. */
  counts(): { connections: number; pending: number; requests: number; retries: number } {
    return {
      connections: this.#connections.count,
      pending: this.#pending.count,
      requests: this.#requests.count,
      retries: this.#retries.count,
    };
  }
}
