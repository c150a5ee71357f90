import type { WorkloadTelemetry } from '../../api/waypoint/telemetry.js';
import { ADDRESS_TYPE_URL, unpackResource } from '../../api/xds/type-urls.js';
import { canonicalIp, ipFromBytes } from '../../core/net/ip.js';
import type { ResourceDelta } from '../../core/xds/client.js';

/**
 * The mesh's workloads by IP, from Istio's workload API (`istio.workload.Address`, as
 * Istio's waypoints discover their peers), so request metrics can name the caller: its
 * workload, app, version and cluster. The tunnel gives only its address and identity.
 */
export class SourceWorkloads {
  /** Per resource name, the IPs it put in the index, so an update or removal can undo them. */
  readonly #ipsByResource = new Map<string, readonly string[]>();
  readonly #byIp = new Map<string, WorkloadTelemetry>();

  /** Applies a delta; a resource that does not decode throws (the push is NACKed) first. */
  apply(delta: ResourceDelta): void {
    const decoded = [...delta.upserts].map(([name, update]) => {
      const address = unpackResource(ADDRESS_TYPE_URL, update.resource);
      return [name, address.type.case === 'workload' ? address.type.value : undefined] as const;
    });
    for (const name of delta.removals) this.#forget(name);
    for (const [name, workload] of decoded) {
      this.#forget(name);
      if (workload === undefined) continue;
      const facts: WorkloadTelemetry = {
        workload: workload.workloadName || workload.name,
        namespace: workload.namespace,
        canonicalService: workload.canonicalName || workload.workloadName || workload.name,
        canonicalRevision: workload.canonicalRevision || 'latest',
        cluster: workload.clusterId,
      };
      const ips = workload.addresses.flatMap((bytes) => ipFromBytes(bytes) ?? []);
      for (const ip of ips) this.#byIp.set(ip, facts);
      this.#ipsByResource.set(name, ips);
    }
  }

  /** The workload at `ip` (any spelling of it), if the mesh knows one. */
  lookup(ip: string): WorkloadTelemetry | undefined {
    const key = canonicalIp(ip);
    return key === undefined ? undefined : this.#byIp.get(key);
  }

  #forget(name: string): void {
    for (const ip of this.#ipsByResource.get(name) ?? []) this.#byIp.delete(ip);
    this.#ipsByResource.delete(name);
  }
}
