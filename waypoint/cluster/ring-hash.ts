import type { EndpointState } from './endpoint-state.js';
import { xxHash64 } from './xxhash64.js';

/** Envoy's `minimum_ring_size` default, which Istio keeps for `consistentHash`. */
const MIN_RING_SIZE = 1024;
/** Envoy's `maximum_ring_size` default. */
const MAX_RING_SIZE = 8 * 1024 * 1024;

interface RingEntry {
  readonly hash: bigint;
  readonly host: EndpointState;
}

/**
 * Envoy's ring hash (`RingHashLoadBalancer::Ring`) over hosts of equal weight: each host
 * `ip:port` gets hashes `xxHash64("ip:port_0")`, `…_1`, … until the ring holds at least
 * 1024 entries; a key goes to the first entry at or after its hash. Adding or removing one
 * host moves only the keys that host's entries own.
 */
export class RingHash {
  readonly #ring: RingEntry[] = [];

  constructor(hosts: readonly EndpointState[]) {
    if (hosts.length === 0) return;
    // Every weight is 1/n, so the scale is the ring size rounded up to a multiple of n.
    const weight = 1 / hosts.length;
    const scale = Math.min(Math.ceil(weight * MIN_RING_SIZE) / weight, MAX_RING_SIZE);
    // Running sums, as Envoy keeps them, decide how many entries each host gets when the
    // scale does not divide evenly.
    let current = 0;
    let target = 0;
    for (const host of hosts) {
      target += scale * weight;
      for (let i = 0; current < target; i++, current++) {
        this.#ring.push({ hash: xxHash64(`${host.key}_${i}`), host });
      }
    }
    this.#ring.sort((a, b) => (a.hash < b.hash ? -1 : a.hash > b.hash ? 1 : 0));
  }

  get size(): number {
    return this.#ring.length;
  }

  /**
   * The host for `hash`. Retry attempt `attempt` > 0 steps that many entries further round
   * the ring, as Envoy does so a retry host predicate can find another host.
   */
  choose(hash: bigint, attempt: number): EndpointState | undefined {
    const ring = this.#ring;
    if (ring.length === 0) return undefined;
    // Ketama's search, ported as Envoy has it (signed bounds, `highp = midp - 1`), so that
    // keys falling between entries resolve to the same entry Envoy picks.
    let low = 0;
    let high = ring.length;
    let mid = 0;
    for (;;) {
      mid = Math.floor((low + high) / 2);
      if (mid === ring.length) {
        mid = 0;
        break;
      }
      const midValue = (ring[mid] as RingEntry).hash;
      const belowValue = mid === 0 ? 0n : (ring[mid - 1] as RingEntry).hash;
      if (hash <= midValue && hash > belowValue) break;
      if (midValue < hash) low = mid + 1;
      else high = mid - 1;
      if (low > high) {
        mid = 0;
        break;
      }
    }
    if (attempt > 0) mid = (mid + attempt) % ring.length;
    return (ring[mid] as RingEntry).host;
  }
}
