import {
  DEFAULT_RETRY_POLICY,
  type Cluster,
  type HttpRoute,
  type ServicePort,
  type WaypointService,
} from '../api/waypoint/config.js';
import { waypointServiceName } from '../api/waypoint/codec.js';
import { clusterName } from '../api/waypoint/schema.js';
import { ClusterState } from './cluster/cluster-state.js';
import type { Clock } from './cluster/clock.js';

/** A service as the waypoint serves it, on one of its ports. */
export interface ServiceTarget {
  readonly service: WaypointService;
  readonly port: ServicePort;
  /** The routes for this port: the service's, or the default route to the service port. */
  readonly routes: readonly HttpRoute[];
}

/** Told, after every change, of every cluster now configured (for I/O kept per cluster). */
export type ClustersChanged = (clusters: ReadonlyMap<string, Cluster>) => void;

/**
 * What the waypoint knows from the control plane: the services bound to it, found by the
 * VIP and port a tunnel names, and one live ClusterState per cluster those services route to.
 * A push replaces services whole but keeps each cluster's state (in-flight counts,
 * ejections, breaker counts) for clusters that remain.
 */
export class WaypointState {
  /** `namespace/name` of this waypoint: services bound to another one are ignored. */
  readonly #waypoint: string;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #services = new Map<string, WaypointService>();
  #byAddress = new Map<string, ServiceTarget>();
  readonly #clusters = new Map<string, ClusterState>();
  readonly #listeners: ClustersChanged[] = [];

  constructor(options: { waypoint: string; clock: Clock; random?: () => number }) {
    this.#waypoint = options.waypoint;
    this.#clock = options.clock;
    this.#random = options.random ?? Math.random;
  }

  /**
   * Applies one xDS response: upserted services (resource name → config) and removed names.
   * Services bound to another waypoint are dropped, as if removed.
   */
  apply(upserts: ReadonlyMap<string, WaypointService>, removals: readonly string[]): void {
    for (const name of removals) this.#services.delete(name);
    for (const [name, service] of upserts) {
      if (service.waypoint === this.#waypoint) this.#services.set(name, service);
      else this.#services.delete(name);
    }
    this.#rebuild();
  }

  /** The service a tunnel to `address:port` is for, if this waypoint serves it. */
  target(address: string, port: number): ServiceTarget | undefined {
    return this.#byAddress.get(addressKey(address, port));
  }

  cluster(name: string): ClusterState | undefined {
    return this.#clusters.get(name);
  }

  services(): WaypointService[] {
    return [...this.#services.values()];
  }

  clusters(): ReadonlyMap<string, ClusterState> {
    return this.#clusters;
  }

  /** Called after every change, with every cluster now configured. */
  onClustersChanged(listener: ClustersChanged): void {
    this.#listeners.push(listener);
  }

  #rebuild(): void {
    const byAddress = new Map<string, ServiceTarget>();
    const configured = new Map<string, Cluster>();
    const services = [...this.#services.values()].sort((a, b) =>
      waypointServiceName(a) < waypointServiceName(b) ? -1 : 1,
    );
    for (const service of services) {
      for (const cluster of service.clusters) configured.set(cluster.name, cluster);
      for (const port of service.ports) {
        const target: ServiceTarget = { service, port, routes: routesFor(service, port) };
        // Two services claiming one VIP is a control plane bug; the first by name keeps it.
        for (const vip of service.vips) {
          const key = addressKey(vip, port.port);
          if (!byAddress.has(key)) byAddress.set(key, target);
        }
      }
    }
    for (const name of [...this.#clusters.keys()])
      if (!configured.has(name)) this.#clusters.delete(name);
    for (const [name, cluster] of configured) {
      const state = this.#clusters.get(name);
      if (state === undefined)
        this.#clusters.set(name, new ClusterState(cluster, this.#clock, this.#random));
      else if (state.cluster !== cluster) state.update(cluster);
    }
    this.#byAddress = byAddress;
    for (const listener of this.#listeners) listener(configured);
  }
}

/**
 * The service's routes, or when it has none the route Istio gives every service: all
 * requests to the service port's cluster, with the default retry policy and no timeout.
 */
function routesFor(service: WaypointService, port: ServicePort): readonly HttpRoute[] {
  if (service.http.length > 0) return service.http;
  const name = clusterName(service.hostname, port.port, undefined);
  return [
    {
      origin: `default route to ${service.hostname}:${port.port}`,
      matches: [],
      action: { kind: 'route', destinations: [{ cluster: name, weight: 100 }] },
      retries: DEFAULT_RETRY_POLICY,
    },
  ];
}

function addressKey(address: string, port: number): string {
  return `${address}|${port}`;
}
