import { Agent, type ClientRequest, type ClientRequestArgs } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ConnectionPool, Endpoint } from '../../api/waypoint/config.js';
import type { BudgetedPool, ConnectionBudget } from './connection-budget.js';
import type { TunnelFactory } from './tunnels.js';
import { TunnelSocket } from './tunnel-socket.js';

/** Istio's default idle timeout of an upstream HTTP connection: one hour. */
export const DEFAULT_IDLE_TIMEOUT_MS = 60 * 60 * 1000;

/**
 * The HTTP/1.1 connections of one cluster to one endpoint, each over its own HBONE tunnel,
 * kept alive and reused between requests. How many it may open is set by the cluster's
 * `ConnectionBudget` (`maxConnections` across the cluster); requests beyond wait in the
 * Agent's queue for one of its connections to come free.
 */
export class EndpointAgent extends Agent implements BudgetedPool {
  readonly endpoint: Endpoint;
  readonly #tunnels: TunnelFactory;
  readonly #budget: ConnectionBudget;
  readonly #name: string;
  #pool: ConnectionPool;
  #idleTimeoutMs: number;
  #open = 0;
  #retired = false;

  constructor(
    endpoint: Endpoint,
    pool: ConnectionPool,
    tunnels: TunnelFactory,
    budget: ConnectionBudget,
  ) {
    super({
      keepAlive: true,
      // The most recently used connection first: the others may time out and go.
      scheduling: 'lifo',
    });
    this.endpoint = endpoint;
    this.#tunnels = tunnels;
    this.#budget = budget;
    this.#pool = pool;
    this.#idleTimeoutMs = pool.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#name = this.getName(this.requestOptions());
    budget.join(this);
  }

  get openConnections(): number {
    return this.#open;
  }

  /** Options for `http.request` that route it through this agent. */
  requestOptions(): Pick<ClientRequestArgs, 'agent' | 'host' | 'port'> {
    return { agent: this, host: this.endpoint.address, port: this.endpoint.port };
  }

  /** Whether a request sent now would find an idle connection (and not wait for one). */
  hasIdleConnection(): boolean {
    return this.freeSockets[this.#name]?.some((socket) => !socket.destroyed) ?? false;
  }

  /** Takes a pushed change of the cluster's connection pool settings (the budget takes the limit). */
  update(pool: ConnectionPool): void {
    this.#pool = pool;
    this.#idleTimeoutMs = pool.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  }

  /**
   * The endpoint left the cluster: idle connections close now, busy ones after their
   * request, and none is opened again.
   */
  retire(): void {
    this.#retired = true;
    this.#budget.leave(this);
    for (const socket of this.freeSockets[this.#name] ?? []) socket.destroy();
  }

  override createConnection(): Duplex {
    const { address, port } = this.endpoint;
    const socket = TunnelSocket.connecting(
      this.#tunnels.open(this.endpoint),
      { address, port },
      this.#pool.connectTimeoutMs,
    );
    this.#open++;
    this.#budget.opened();
    socket.once('close', () => {
      this.#open--;
      this.#budget.closed();
    });
    return socket;
  }

  override keepSocketAlive(socket: Duplex): boolean {
    const max = this.#pool.maxRequestsPerConnection;
    if (this.#retired) return false;
    if (socket instanceof TunnelSocket && max > 0 && socket.uses >= max) return false;
    if (!(super.keepSocketAlive(socket) as unknown as boolean)) return false;
    // An idle connection closes after the pool's idle timeout (the Agent destroys a free
    // socket on 'timeout'); a busy one is never timed out here.
    (socket as TunnelSocket).setTimeout(this.#idleTimeoutMs);
    return true;
  }

  override reuseSocket(socket: Duplex, request: ClientRequest): void {
    super.reuseSocket(socket, request);
    (socket as TunnelSocket).setTimeout(0);
  }
}
