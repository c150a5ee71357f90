import type {
  GatewayListener,
  GatewayProxy,
  GatewayServer,
  SniRoute,
} from '../../api/gateway/config.js';
import type { WaypointService } from '../../api/waypoint/config.js';
import type { ServiceTarget } from '../state.js';
import { WaypointState } from '../state.js';
import type { Clock } from '../cluster/clock.js';
import { hostMatches, mostSpecificMatch } from '../../api/gateway/hosts.js';

/** Every virtual host of a listener (or of one server), ready for lookups by Host. */
interface HostTable {
  readonly domains: readonly string[];
  readonly targets: readonly ServiceTarget[];
  /** Answers every host no domain matches: no routes, so 404 (NR). */
  readonly fallback: ServiceTarget;
}

interface ListenerEntry {
  readonly listener: GatewayListener;
  /** Plain HTTP: every server's hosts together (Envoy merges them in one route table). */
  readonly all: HostTable;
  /** Per server, by origin: a TLS server's own hosts. */
  readonly byServer: ReadonlyMap<string, HostTable>;
}

/** The resource a synthetic service holding the gateway's clusters is kept under. */
const CLUSTERS = 'gateway';

/**
 * What an ingress gateway knows from the control plane: its own GatewayProxy, the listeners
 * and servers in it, and one live ClusterState per cluster (kept by a WaypointState, so
 * upstream pools, breakers and outlier detection work as the waypoint's do).
 */
export class GatewayState {
  /** `namespace/serviceAccount/name`: the only resource this gateway takes. */
  readonly #resource: string;
  readonly #namespace: string;
  readonly #name: string;
  readonly clusters: WaypointState;
  #config: GatewayProxy | undefined;
  #listeners = new Map<number, ListenerEntry>();
  readonly #changed: ((listeners: readonly GatewayListener[]) => void)[] = [];

  constructor(options: {
    namespace: string;
    serviceAccount: string;
    name: string;
    clock: Clock;
    random?: () => number;
  }) {
    this.#resource = `${options.namespace}/${options.serviceAccount}/${options.name}`;
    this.#namespace = options.namespace;
    this.#name = options.name;
    this.clusters = new WaypointState({
      waypoint: `${options.namespace}/${options.name}`,
      clock: options.clock,
      ...(options.random === undefined ? {} : { random: options.random }),
    });
  }

  get resourceName(): string {
    return this.#resource;
  }

  get config(): GatewayProxy | undefined {
    return this.#config;
  }

  /** Applies one xDS response: this gateway's config, or its removal. */
  apply(upserts: ReadonlyMap<string, GatewayProxy>, removals: readonly string[]): void {
    const mine = upserts.get(this.#resource);
    if (mine === undefined && !removals.includes(this.#resource)) return;
    this.#config = mine;
    const listeners = mine?.listeners ?? [];
    this.clusters.apply(
      new Map([
        [
          CLUSTERS,
          {
            namespace: this.#namespace,
            name: this.#name,
            hostname: CLUSTERS,
            vips: [],
            ports: [],
            http: [],
            tcp: [],
            clusters: mine?.clusters ?? [],
            waypoint: `${this.#namespace}/${this.#name}`,
          },
        ],
      ]),
      [],
    );
    this.#listeners = new Map(listeners.map((l) => [l.port, this.#entry(l)]));
    for (const listener of this.#changed) listener(listeners);
  }

  /** Called after every change with the listeners now configured. */
  onListenersChanged(listener: (listeners: readonly GatewayListener[]) => void): void {
    this.#changed.push(listener);
  }

  /** One service config per listener, each carrying the gateway's telemetry settings. */
  services(): WaypointService[] {
    return [...this.#listeners.values()].map((entry) => entry.all.fallback.service);
  }

  listener(port: number): GatewayListener | undefined {
    return this.#listeners.get(port)?.listener;
  }

  /**
   * The routes a request for `authority` takes on `port`: among every server's hosts on a
   * plain listener, or among `server`'s (by origin) on a TLS one. A host nothing serves gets
   * a target without routes: 404 (NR), as Envoy answers.
   */
  httpTarget(port: number, server: string | undefined, authority: string): ServiceTarget {
    const entry = this.#listeners.get(port);
    const table =
      entry === undefined
        ? undefined
        : server === undefined
          ? entry.all
          : entry.byServer.get(server);
    if (table === undefined) return this.#unknown(port);
    const i = mostSpecificMatch(table.domains, hostOf(authority));
    return i < 0 ? table.fallback : table.targets[i]!;
  }

  /** The server of a TLS listener that takes `serverName` (none sent: a `*` server). */
  serverFor(port: number, serverName: string | undefined): GatewayServer | undefined {
    const listener = this.#listeners.get(port)?.listener;
    if (listener === undefined) return undefined;
    const name = serverName ?? '';
    let best: GatewayServer | undefined;
    let bestRank = -1;
    for (const server of listener.servers) {
      const i =
        serverName === undefined
          ? server.hosts.indexOf('*')
          : mostSpecificMatch(server.hosts, name);
      if (i < 0) continue;
      const host = server.hosts[i]!;
      const rank = host === name ? Number.MAX_SAFE_INTEGER : host === '*' ? 0 : host.length;
      if (rank > bestRank) {
        best = server;
        bestRank = rank;
      }
    }
    return best;
  }

  /** The first route of a passthrough or TCP server that takes `serverName`. */
  sniRoute(server: GatewayServer, serverName: string | undefined): SniRoute | undefined {
    return server.tcp.find(
      (r) =>
        r.sniHosts.length === 0 ||
        (serverName !== undefined && r.sniHosts.some((h) => hostMatches(h, serverName))),
    );
  }

  #entry(listener: GatewayListener): ListenerEntry {
    const byServer = new Map<string, HostTable>();
    for (const server of listener.servers)
      byServer.set(server.origin, this.#table(listener.port, [server]));
    return { listener, all: this.#table(listener.port, listener.servers), byServer };
  }

  #table(port: number, servers: readonly GatewayServer[]): HostTable {
    const domains: string[] = [];
    const targets: ServiceTarget[] = [];
    for (const server of servers)
      for (const vh of server.virtualHosts)
        for (const domain of vh.domains) {
          // The first server to claim a domain keeps it, as Envoy keeps the first virtual host.
          if (domains.includes(domain)) continue;
          domains.push(domain);
          targets.push(this.#target(port, domain, vh.routes));
        }
    return { domains, targets, fallback: this.#unknown(port) };
  }

  #target(port: number, hostname: string, routes: ServiceTarget['routes']): ServiceTarget {
    const telemetry = this.#config?.telemetry;
    return {
      service: {
        namespace: this.#namespace,
        name: this.#name,
        hostname,
        vips: [],
        ports: [{ port, protocol: 'http' }],
        http: routes,
        tcp: [],
        clusters: [],
        waypoint: `${this.#namespace}/${this.#name}`,
        // Telemetry settings apply to the gateway's every request (waypoint/telemetry/).
        ...(telemetry === undefined ? {} : { telemetry }),
      },
      port: { port, protocol: 'http' },
      routes,
    };
  }

  #unknown(port: number): ServiceTarget {
    return this.#target(port, 'unknown', []);
  }
}

/** The host of a Host header or `:authority`, lower case, without port. */
function hostOf(authority: string): string {
  const host = authority.startsWith('[')
    ? authority.slice(0, authority.indexOf(']') + 1)
    : authority.replace(/:\d*$/, '');
  return host.toLowerCase();
}
