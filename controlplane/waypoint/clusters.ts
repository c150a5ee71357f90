/**
 * The clusters of one WaypointService: every destination its routes name, resolved as Istio
 * resolves a route destination (route.go GetDestinationCluster): the port is the
 * destination's, else the service's only port, else the port the request came in on. A
 * destination that cannot be served (no such service, port or subset) still gets its cluster,
 * with a `problem` and no endpoints, so the waypoint answers 503 there, and an issue.
 */
import type { Cluster } from '../../api/waypoint/config.js';
import { clusterName } from '../../api/waypoint/schema.js';
import type { ObjectRef } from '../model/issues.js';
import { compareText } from '../model/services.js';
import { compact } from './compact.js';
import type { CompileContext } from './context.js';
import { clusterEndpoints } from './endpoints.js';
import { serviceForHostname } from './hosts.js';
import { clusterPolicy, mergedComponents } from './traffic-policy.js';

export interface Destination {
  /** Fully qualified. */
  readonly host: string;
  readonly subset?: string | undefined;
  readonly port?: number | undefined;
}

export class ClusterSet {
  readonly #ctx: CompileContext;
  readonly #namespace: string;
  readonly #clusters = new Map<string, Cluster>();

  /** `namespace`: the waypoint's, from which names and DestinationRules are seen. */
  constructor(ctx: CompileContext, namespace: string) {
    this.#ctx = ctx;
    this.#namespace = namespace;
  }

  /** The cluster a destination of a route for `listenPort` goes to; `from` wrote the route. */
  resolve(destination: Destination, listenPort: number, from: ObjectRef): string {
    const { model, destinationRules, issues, options, servicesByHostname } = this.#ctx;
    const { host, subset: subsetName } = destination;
    const service = serviceForHostname(servicesByHostname.get(host) ?? [], this.#namespace);
    const [onlyPort] = service?.ports.length === 1 ? service.ports : [];
    const port = destination.port ?? onlyPort?.port ?? listenPort;
    const name = clusterName(host, port, subsetName);
    const rule = destinationRules.lookup(host, this.#namespace, service?.namespace);
    const subset =
      subsetName === undefined ? undefined : rule?.subsets.find((s) => s.name === subsetName);

    let problem: string | undefined;
    if (service === undefined) {
      problem = `no service has host ${host}`;
      issues.add({ code: 'DestinationHostNotFound', object: from, host });
    } else if (!service.ports.some((p) => p.port === port)) {
      problem = `service ${host} has no port ${port}`;
      issues.add({ code: 'DestinationPortNotFound', object: from, host, port });
    } else if (subsetName !== undefined && subset === undefined) {
      problem = `no DestinationRule for ${host} defines subset ${subsetName}`;
      issues.add({ code: 'DestinationSubsetNotFound', object: from, host, subset: subsetName });
    }
    if (this.#clusters.has(name)) return name;

    this.#clusters.set(
      name,
      compact({
        name,
        host,
        port,
        subset: subsetName,
        policy: clusterPolicy(mergedComponents(rule?.trafficPolicy, subset, port), {
          publishNotReadyAddresses: service?.publishNotReadyAddresses ?? false,
        }),
        endpoints:
          service === undefined || problem !== undefined
            ? []
            : clusterEndpoints(model, service, port, subset?.labels, options.trustDomain),
        problem,
      }),
    );
    return name;
  }

  /** Every cluster resolved so far, by name. */
  list(): Cluster[] {
    return [...this.#clusters.values()].sort((a, b) => compareText(a.name, b.name));
  }
}
