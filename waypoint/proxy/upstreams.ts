import type { Cluster, Endpoint } from '../../api/waypoint/config.js';
import { endpointKey, type EndpointKey } from '../cluster/endpoint-state.js';
import { ConnectionBudget } from './connection-budget.js';
import { EndpointAgent } from './endpoint-agent.js';
import type { TunnelFactory } from './tunnels.js';

/**
 * The upstream HTTP connection pools, one per (cluster, endpoint) as Envoy keeps them. A
 * config push updates their limits in place; an endpoint or cluster that goes away has its
 * pool retired, so requests already on it finish and nothing new is opened.
 */
export class Upstreams {
  readonly #tunnels: TunnelFactory;
  readonly #agents = new Map<string, Map<EndpointKey, EndpointAgent>>();
  /** Per cluster: the connections its endpoints' pools share (`maxConnections`). */
  readonly #budgets = new Map<string, ConnectionBudget>();

  constructor(tunnels: TunnelFactory) {
    this.#tunnels = tunnels;
  }

  /** The pool for `endpoint` of `cluster`, made on first use. */
  agent(cluster: Cluster, endpoint: Endpoint): EndpointAgent {
    const pool = cluster.policy.connectionPool;
    let agents = this.#agents.get(cluster.name);
    let budget = this.#budgets.get(cluster.name);
    if (agents === undefined || budget === undefined) {
      agents = new Map();
      budget = new ConnectionBudget(pool.maxConnections);
      this.#agents.set(cluster.name, agents);
      this.#budgets.set(cluster.name, budget);
    }
    const key = endpointKey(endpoint);
    let agent = agents.get(key);
    if (agent === undefined || agent.endpoint.identity !== endpoint.identity) {
      agent?.retire();
      agent = new EndpointAgent(endpoint, pool, this.#tunnels, budget);
      agents.set(key, agent);
    }
    return agent;
  }

  /** Brings the pools in line with the clusters now configured. */
  reconcile(clusters: ReadonlyMap<string, Cluster>): void {
    for (const [name, agents] of this.#agents) {
      const cluster = clusters.get(name);
      if (cluster !== undefined)
        this.#budgets.get(name)?.setLimit(cluster.policy.connectionPool.maxConnections);
      const keep = new Set(cluster?.endpoints.map(endpointKey));
      for (const [key, agent] of agents) {
        if (cluster !== undefined && keep.has(key)) {
          agent.update(cluster.policy.connectionPool);
          continue;
        }
        agent.retire();
        agents.delete(key);
      }
      if (agents.size === 0) {
        this.#agents.delete(name);
        this.#budgets.delete(name);
      }
    }
  }

  /** Every connection, busy or idle, is closed. */
  close(): void {
    for (const agents of this.#agents.values())
      for (const agent of agents.values()) agent.destroy();
    this.#agents.clear();
    this.#budgets.clear();
  }
}
