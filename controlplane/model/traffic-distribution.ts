/**
 * Where a service prefers its traffic to go, as Istio reads it (pilot/pkg/model
 * GetTrafficDistribution): a Service's spec.trafficDistribution, else the
 * `networking.istio.io/traffic-distribution` annotation on the service, else on its namespace.
 */
import { TRAFFIC_DISTRIBUTION } from './labels.js';
import type { Labels } from './namespaces.js';

/** Any endpoint; the closest zone first; the same node first. */
export type TrafficDistribution = 'Any' | 'PreferSameZone' | 'PreferSameNode';

/** Annotation values, compared without case; PreferClose is the older name of PreferSameZone. */
function fromAnnotation(value: string): TrafficDistribution {
  switch (value.toLowerCase()) {
    case 'preferclose':
    case 'prefersamezone':
      return 'PreferSameZone';
    case 'prefersamenode':
      return 'PreferSameNode';
    default:
      return 'Any';
  }
}

export function trafficDistribution(
  spec: string | undefined,
  serviceAnnotations: Labels,
  namespaceAnnotations: Labels | undefined,
): TrafficDistribution {
  // The spec field is matched exactly; a value this release does not know falls through.
  switch (spec) {
    case 'PreferClose':
    case 'PreferSameZone':
      return 'PreferSameZone';
    case 'PreferSameNode':
      return 'PreferSameNode';
  }
  // A non-empty annotation decides, even a value it does not know (which means Any).
  for (const annotations of [serviceAnnotations, namespaceAnnotations ?? {}]) {
    const value = annotations[TRAFFIC_DISTRIBUTION] ?? '';
    if (value !== '') return fromAnnotation(value);
  }
  return 'Any';
}
