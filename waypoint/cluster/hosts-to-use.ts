import type { EndpointState } from './endpoint-state.js';

/** Envoy's default overprovisioning factor, in percent. */
const OVERPROVISIONING_PERCENT = 140;

/**
 * The hosts a load balancer chooses among, as Envoy's `LoadBalancerBase` decides for one
 * priority level with panic threshold `minHealthPercent` (Istio puts DestinationRule
 * `outlierDetection.minHealthPercent` there; 0 turns panic off).
 *
 * An endpoint the control plane marks not healthy is one Istio leaves out of EDS: it never
 * takes traffic, not even in panic, and does not count in any percentage. Of the rest, the
 * healthy ones are those outlier detection has not ejected. Panic (every remaining host,
 * ejected or not) needs two things, as in `recalculatePerPriorityPanic`: the level's
 * availability — healthy share × 1.4, in whole percent, capped at 100 — is below 100, and
 * the healthy share is below the threshold. So a threshold above ~71 % behaves like 71 %.
 */
export function hostsToUse(
  hosts: readonly EndpointState[],
  minHealthPercent: number,
): readonly EndpointState[] {
  const eligible = hosts.filter((h) => h.endpoint.healthy);
  const healthy = eligible.filter((h) => !h.ejected);
  const threshold = Math.min(100, minHealthPercent);
  if (eligible.length === 0 || threshold <= 0) return healthy;
  const availability = Math.min(
    100,
    Math.floor((OVERPROVISIONING_PERCENT * healthy.length) / eligible.length),
  );
  const healthyPercent = (100 * healthy.length) / eligible.length;
  const panic = availability < 100 && healthyPercent < threshold;
  return panic ? eligible : healthy;
}
