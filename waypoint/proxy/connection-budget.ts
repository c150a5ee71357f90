/** Istio's "unset" limits are 2^32 - 1; Node's Agent spells unlimited Infinity. */
const UNLIMITED = 2 ** 32 - 1;

/** A limit as Node's Agent takes it: 0 or Istio's unset value is no limit. */
export function connectionLimit(value: number): number {
  return value <= 0 || value >= UNLIMITED ? Infinity : value;
}

/** A pool that draws on a cluster's connection budget (EndpointAgent). */
export interface BudgetedPool {
  /** Connections this pool has open or opening. */
  readonly openConnections: number;
  /** How many connections the pool may have; set by the budget. */
  maxSockets: number;
}

/**
 * Envoy's `max_connections` circuit breaker (DestinationRule
 * `connectionPool.tcp.maxConnections`): a limit on the connections of a whole cluster, which
 * its endpoints' pools share. Like Envoy's ConnPoolImplBase, a pool with no connection may
 * always open one, so that requests queued for its endpoint are never stranded; beyond that a
 * pool grows only while the cluster is under its limit, and its requests otherwise wait for
 * one of its own connections.
 */
export class ConnectionBudget {
  #max: number;
  #open = 0;
  readonly #pools = new Set<BudgetedPool>();

  constructor(maxConnections: number) {
    this.#max = connectionLimit(maxConnections);
  }

  /** Takes a pushed change of the limit. */
  setLimit(maxConnections: number): void {
    this.#max = connectionLimit(maxConnections);
    this.#rebalance();
  }

  join(pool: BudgetedPool): void {
    this.#pools.add(pool);
    pool.maxSockets = this.#allowance(pool);
  }

  /** The pool will open no more connections; the ones it has still count until closed. */
  leave(pool: BudgetedPool): void {
    this.#pools.delete(pool);
  }

  opened(): void {
    this.#open++;
    this.#rebalance();
  }

  closed(): void {
    this.#open--;
    this.#rebalance();
  }

  #allowance(pool: BudgetedPool): number {
    if (this.#max === Infinity) return Infinity;
    return Math.max(1, pool.openConnections + Math.max(0, this.#max - this.#open));
  }

  #rebalance(): void {
    for (const pool of this.#pools) pool.maxSockets = this.#allowance(pool);
  }
}
