import type { Cluster } from '../../api/waypoint/config.js';
import type { AttemptOutcome } from './attempt-outcome.js';
import { CircuitBreaker } from './circuit-breaker.js';
import type { Clock } from './clock.js';
import {
  newEndpointState,
  endpointKey,
  type EndpointKey,
  type EndpointState,
} from './endpoint-state.js';
import { createLoadBalancer, type LoadBalancerPick, type PickContext } from './load-balancer.js';
import { OutlierDetector, outlierResultOf } from './outlier.js';

/**
 * One cluster as the waypoint runs it: its endpoints' live state, circuit breakers, outlier
 * detector and load balancer. Config pushes (`update`) keep what is known about endpoints
 * that stay (requests in flight, ejections, breaker counts); new endpoints start fresh and
 * removed ones are forgotten. The caller drives time: `sweep()` every
 * `policy.outlierDetection.intervalMs`.
 */
export class ClusterState {
  #cluster: Cluster;
  #hosts: EndpointState[] = [];
  #outlier: OutlierDetector | undefined;
  #balancer!: LoadBalancerPick;
  readonly breaker: CircuitBreaker;
  readonly #clock: Clock;
  readonly #random: () => number;

  constructor(cluster: Cluster, clock: Clock, random: () => number = Math.random) {
    this.#cluster = cluster;
    this.#clock = clock;
    this.#random = random;
    this.breaker = new CircuitBreaker(cluster.policy.connectionPool);
    this.#hosts = cluster.endpoints.map(newEndpointState);
    this.#configure(cluster, undefined);
  }

  get cluster(): Cluster {
    return this.#cluster;
  }

  get outlier(): OutlierDetector | undefined {
    return this.#outlier;
  }

  hosts(): readonly EndpointState[] {
    return this.#hosts;
  }

  update(cluster: Cluster): void {
    const previous = this.#cluster;
    const known = new Map(this.#hosts.map((h) => [h.key, h]));
    this.#hosts = cluster.endpoints.map((endpoint) => {
      const state = known.get(endpointKey(endpoint));
      if (!state) return newEndpointState(endpoint);
      state.endpoint = endpoint;
      return state;
    });
    this.#cluster = cluster;
    this.breaker.setLimits(cluster.policy.connectionPool);
    this.#configure(cluster, previous);
  }

  pick(context: PickContext = {}): EndpointState | undefined {
    return this.#balancer.pick(this.#hosts, context);
  }

  /** Feeds one attempt's outcome on `host` to outlier detection; true if it ejected `host`. */
  report(host: EndpointState, outcome: AttemptOutcome): boolean {
    return this.#outlier?.record(host.key, outlierResultOf(outcome), this.#hosts) ?? false;
  }

  /** The outlier detector's interval work; returns the hosts readmitted. */
  sweep(): EndpointState[] {
    return this.#outlier?.sweep(this.#hosts) ?? [];
  }

  #configure(cluster: Cluster, previous: Cluster | undefined): void {
    const detection = cluster.policy.outlierDetection;
    if (!detection) {
      // Without a detector nothing is ejected (Envoy builds none for such a cluster).
      this.#outlier = undefined;
      for (const host of this.#hosts) host.ejected = false;
    } else if (this.#outlier) {
      this.#outlier.setPolicy(detection);
    } else {
      this.#outlier = new OutlierDetector(detection, this.#clock);
    }
    // A host the control plane no longer marks healthy has left Istio's EDS: its ejection
    // and counts go with it.
    const inEds = new Set<EndpointKey>();
    for (const host of this.#hosts) {
      if (host.endpoint.healthy) inEds.add(host.key);
      else host.ejected = false;
    }
    this.#outlier?.retain(inEds);

    const minHealthPercent = detection?.minHealthPercent ?? 0;
    const before = previous?.policy;
    if (
      !before ||
      JSON.stringify(before.loadBalancer) !== JSON.stringify(cluster.policy.loadBalancer) ||
      (before.outlierDetection?.minHealthPercent ?? 0) !== minHealthPercent
    ) {
      this.#balancer = createLoadBalancer(
        cluster.policy.loadBalancer,
        this.#random,
        minHealthPercent,
      );
    }
  }
}
