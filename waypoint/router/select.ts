import type { RouteDestination } from '../../api/waypoint/config.js';

/**
 * Picks one destination in proportion to its weight, as Envoy's weighted clusters do:
 * weights are relative (Istio does not require them to sum to 100), a destination with
 * weight 0 is never chosen, and `random` (uniform in [0, 1)) is the only source of chance,
 * so tests inject it. Undefined when no destination has a positive weight.
 */
export function pickDestination(
  destinations: readonly RouteDestination[],
  random: () => number,
): RouteDestination | undefined {
  let total = 0;
  for (const d of destinations) if (d.weight > 0) total += d.weight;
  if (total === 0) return undefined;
  const target = random() * total;
  let last: RouteDestination | undefined;
  let cumulative = 0;
  for (const d of destinations) {
    if (d.weight <= 0) continue;
    cumulative += d.weight;
    if (target < cumulative) return d;
    last = d;
  }
  // Only when `random` returns 1 or float sums round down: the last positive weight.
  return last;
}
