import type { Authorization } from '../authz/policy.js';
import type { AddressIndex } from './address-index.js';

/**
 * The state as JSON for /config_dump, in the shape ztunnel's dump has (workloads, services
 * with their endpoints, policies), sorted by name so that two dumps compare line by line.
 */
export function dumpState(addresses: AddressIndex, policies: Iterable<Authorization>) {
  const byName = <T>(entries: Iterable<[string, T]>) =>
    [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, value]) => value);
  return {
    workloads: byName(addresses.workloads).map((workload) => ({
      ...workload,
      services: Object.fromEntries(workload.services),
    })),
    services: byName(addresses.services).map((service) => ({
      ...service,
      endpoints: (addresses.members.get(service.key) ?? []).map((workload) => ({
        workloadUid: workload.uid,
        healthy: workload.healthy,
        ports: workload.services.get(service.key) ?? [],
      })),
    })),
    policies: byName(
      [...policies].map((policy) => [policy.key, policy] as [string, Authorization]),
    ),
  };
}
