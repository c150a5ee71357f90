/**
 * The served resources loaded into the proxies' own state: ztunnel's ProxyState (the
 * decisions of `resolveDestination` and `authorize` are made on exactly what a node tunnel
 * holds) and the waypoint's WaypointState (routes and clusters as a waypoint holds them).
 */
import type { Any } from '@bufbuild/protobuf/wkt';
import { decodeWaypointService } from '../../api/waypoint/codec.js';
import type { WaypointService } from '../../api/waypoint/config.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  unpackResource,
  WAYPOINT_SERVICE_TYPE_URL,
} from '../../api/xds/type-urls.js';
import { ipFromBytes } from '../../core/net/ip.js';
import type { ResourceDelta } from '../../core/xds/client.js';
import { WaypointState } from '../../waypoint/state.js';
import { ProxyState } from '../../ztunnel/state/state.js';
import type { Workload } from '../../ztunnel/state/types.js';
import type { EndpointRef, WorkloadRef } from './explanation.js';
import type { ServedConfig } from './served.js';

function delta(resources: ReadonlyMap<string, Any> | undefined): ResourceDelta {
  const upserts = new Map(
    [...(resources ?? [])].map(([name, resource]) => [name, { version: 'explain', resource }]),
  );
  return { upserts, removals: [] };
}

/** A service's hostname and its VIPs, read from an Address resource. */
interface HostnameEntry {
  readonly namespace: string;
  readonly hostname: string;
  readonly vips: readonly string[];
}

export class MeshView {
  readonly proxy = new ProxyState();
  readonly #hostnames: HostnameEntry[] = [];
  readonly #waypointServices: WaypointService[] = [];
  readonly #waypoints = new Map<string, WaypointState>();

  constructor(readonly served: ServedConfig) {
    const addresses = served.resources.get(ADDRESS_TYPE_URL);
    this.proxy.applyAddresses(delta(addresses));
    this.proxy.applyAuthorizations(delta(served.resources.get(AUTHORIZATION_TYPE_URL)));
    for (const any of addresses?.values() ?? []) {
      const address = unpackResource(ADDRESS_TYPE_URL, any);
      if (address.type.case !== 'service') continue;
      const service = address.type.value;
      const vips = service.addresses.flatMap((a) => ipFromBytes(a.address) ?? []);
      this.#hostnames.push({ namespace: service.namespace, hostname: service.hostname, vips });
    }
    for (const any of served.resources.get(WAYPOINT_SERVICE_TYPE_URL)?.values() ?? []) {
      this.#waypointServices.push(decodeWaypointService(any));
    }
  }

  /**
   * The VIPs of the service a hostname names, preferring the one declared in `namespace`
   * (a proxy's own namespace wins, as Istio's ServiceForHostname); undefined when no
   * service has it.
   */
  serviceByHostname(hostname: string, namespace: string): HostnameEntry | undefined {
    const all = this.#hostnames.filter((h) => h.hostname === hostname);
    return all.find((h) => h.namespace === namespace) ?? all[0];
  }

  /** The waypoint's view of the services bound to `waypoint` (`namespace/name`). */
  waypoint(waypoint: string): WaypointState {
    let state = this.#waypoints.get(waypoint);
    if (state === undefined) {
      state = new WaypointState({ waypoint, clock: { now: () => 0 } });
      state.apply(
        new Map(this.#waypointServices.map((s) => [`${s.namespace}/${s.hostname}`, s])),
        [],
      );
      this.#waypoints.set(waypoint, state);
    }
    return state;
  }

  /** The compiled config of a service bound to a waypoint, if it is bound to one. */
  waypointService(namespace: string, hostname: string): WaypointService | undefined {
    return this.#waypointServices.find((s) => s.namespace === namespace && s.hostname === hostname);
  }

  workloadRef(workload: Workload, like?: string): WorkloadRef {
    return {
      name: `${workload.namespace}/${workload.name}`,
      address: addressOf(workload, like),
      identity: workload.identity,
      ...(workload.node !== '' && { node: workload.node }),
    };
  }

  endpointRef(address: string, port: number, healthy: boolean): EndpointRef {
    const workload = this.proxy.workloadByIp(address);
    return {
      ...(workload !== undefined && { workload: `${workload.namespace}/${workload.name}` }),
      address,
      port,
      healthy,
    };
  }
}

/** The workload's address in the family of `like` (the address the client used), else its first. */
export function addressOf(workload: Workload, like?: string): string {
  const v6 = like?.includes(':') ?? false;
  return workload.addresses.find((a) => a.includes(':') === v6) ?? workload.addresses[0] ?? '';
}
