import type { LoadBalancer } from '../../api/waypoint/config.js';
import type { EndpointKey, EndpointState } from './endpoint-state.js';
import { hostsToUse } from './hosts-to-use.js';
import { RingHash } from './ring-hash.js';
import { xxHash64 } from './xxhash64.js';

export interface PickContext {
  /** From `hashKeyFor`; a CONSISTENT_HASH pick without one is random, as in Envoy. */
  readonly hashKey?: string;
  /** Hosts this request already tried (Envoy's `previous_hosts` retry predicate). */
  readonly exclude?: ReadonlySet<EndpointKey>;
}

export interface LoadBalancerPick {
  /**
   * One of `hosts` for the next attempt, or undefined when none may take traffic (no
   * healthy host and no panic): the caller answers 503 UH.
   */
  pick(hosts: readonly EndpointState[], context: PickContext): EndpointState | undefined;
}

/**
 * Istio's `host_selection_retry_max_attempts` on every route's retry policy: a host already
 * tried is re-drawn up to 5 times; if every draw lands on a tried host, the last one is used.
 */
export const HOST_SELECTION_RETRY_MAX_ATTEMPTS = 5;

/** One draw of an algorithm; `attempt` counts re-draws for the retry predicate. */
type Choose = (
  hosts: readonly EndpointState[],
  attempt: number,
  hash: () => bigint,
) => EndpointState;

/**
 * A load balancer with Envoy's algorithm for `policy` (hosts have equal weight, so Envoy's
 * unweighted paths). `minHealthPercent` is the panic threshold (see `hostsToUse`).
 */
export function createLoadBalancer(
  policy: LoadBalancer,
  random: () => number = Math.random,
  minHealthPercent = 0,
): LoadBalancerPick {
  const choose = chooser(policy, random);
  return {
    pick(hosts, context) {
      const candidates = hostsToUse(hosts, minHealthPercent);
      if (candidates.length === 0) return undefined;
      // One hash per pick: a keyed request keeps its hash across re-draws, an unkeyed one
      // draws it once (Envoy: `hash ? hash : random()`).
      let hash: bigint | undefined;
      const hashOnce = (): bigint =>
        (hash ??= context.hashKey === undefined ? randomHash(random) : xxHash64(context.hashKey));
      const exclude = context.exclude;
      const draws = exclude && exclude.size > 0 ? HOST_SELECTION_RETRY_MAX_ATTEMPTS + 1 : 1;
      let host = choose(candidates, 0, hashOnce);
      for (let attempt = 1; attempt < draws && exclude?.has(host.key); attempt++) {
        host = choose(candidates, attempt, hashOnce);
      }
      return host;
    },
  };
}

const randomIndex = (random: () => number, n: number): number => Math.floor(random() * n);

// A uniform 53-bit draw spread over 64 bits: enough to land anywhere on the ring.
const randomHash = (random: () => number): bigint => BigInt(Math.floor(random() * 2 ** 53)) << 11n;

function chooser(policy: LoadBalancer, random: () => number): Choose {
  switch (policy.kind) {
    case 'LEAST_REQUEST':
      // Envoy's default N_CHOICES with choice_count 2: two independent random draws (maybe
      // the same host); the second replaces the first only with strictly fewer requests.
      return (hosts) => {
        let candidate = hosts[randomIndex(random, hosts.length)] as EndpointState;
        const sampled = hosts[randomIndex(random, hosts.length)] as EndpointState;
        if (sampled.active < candidate.active) candidate = sampled;
        return candidate;
      };
    case 'ROUND_ROBIN': {
      // Envoy starts each balancer at a random index so that many proxies do not all begin
      // with the same host, and keeps counting when the host set changes.
      let index = randomIndex(random, 2 ** 32);
      return (hosts) => hosts[index++ % hosts.length] as EndpointState;
    }
    case 'RANDOM':
      return (hosts) => hosts[randomIndex(random, hosts.length)] as EndpointState;
    case 'CONSISTENT_HASH': {
      // The ring is rebuilt only when the set of hosts to use changes.
      let ring = new RingHash([]);
      let ringHosts: readonly EndpointState[] = [];
      return (hosts, attempt, hash) => {
        if (!sameHosts(hosts, ringHosts)) {
          ring = new RingHash(hosts);
          ringHosts = hosts;
        }
        return ring.choose(hash(), attempt) as EndpointState;
      };
    }
  }
}

function sameHosts(a: readonly EndpointState[], b: readonly EndpointState[]): boolean {
  return a.length === b.length && a.every((host, i) => host === b[i]);
}
