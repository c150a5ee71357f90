import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { HboneServer } from '../core/hbone/server.js';
import type { Identity } from '../core/identity/spiffe.js';
import { decodeWaypointService } from '../api/waypoint/codec.js';
import { WAYPOINT_SERVICE_TYPE_URL, type WaypointService } from '../api/waypoint/config.js';
import { startProxyPorts, type ProxyPorts } from '../core/admin/proxy-ports.js';
import { configDump } from './admin.js';
import { L7Runtime, type L7ProxyOptions } from './runtime.js';
import { WaypointState } from './state.js';

/** How long past the drain deadline stop() waits for cut connections to report closed. */
const DRAIN_GRACE_MS = 1000;

export interface WaypointOptions extends L7ProxyOptions {
  /** The HBONE listener (15008). */
  listen: { host: string; port: number };
}

/**
 * The waypoint, wired: its own certificate from the CA (kept fresh), the services bound to it
 * from Delta xDS, an HBONE listener feeding the proxy, upstream tunnels with its own
 * identity, and the admin, metrics and readiness ports.
 */
export class Waypoint {
  readonly identity: Identity;
  readonly #options: WaypointOptions;
  readonly #state: WaypointState;
  readonly #runtime: L7Runtime<WaypointService>;
  readonly #hbone: HboneServer;
  readonly #listener: Server;
  #admin: ProxyPorts | undefined;

  constructor(options: WaypointOptions) {
    this.#options = options;
    const { logger } = options;
    const waypoint = `${options.namespace}/${options.name}`;
    const state = new WaypointState({ waypoint, clock: { now: () => performance.now() } });
    this.#state = state;
    this.#runtime = new L7Runtime(options, {
      nodeKind: 'waypoint',
      nodeMetadata: {
        NAMESPACE: options.namespace,
        WAYPOINT_NAME: options.name,
        SERVICE_ACCOUNT: options.serviceAccount,
      },
      typeUrl: WAYPOINT_SERVICE_TYPE_URL,
      decode: decodeWaypointService,
      apply: (upserts, removals) => state.apply(upserts, removals),
      services: () => state.services(),
      routes: state,
    });
    this.identity = this.#runtime.identity;
    const { secrets, proxy } = this.#runtime;
    this.#hbone = new HboneServer({
      credentials: () => secrets.current(this.identity),
      onRequest: (request) => proxy.handleTunnel(request),
      logger: logger.child({ component: 'hbone' }),
    });
    // The waypoint's pod is not captured: a plain listener, half-open so a client's
    // half-close passes through the tunnel.
    this.#listener = createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
      this.#hbone.handle(socket),
    );
  }

  /** Ready to carry traffic: the first xDS sync is applied and a certificate is held. */
  get ready(): boolean {
    return this.#runtime.ready;
  }

  /** Where each port listens, once started. */
  get addresses(): Record<'hbone' | 'admin' | 'metrics' | 'readiness', string> | undefined {
    if (this.#admin === undefined) return undefined;
    const { address, port } = this.#listener.address() as AddressInfo;
    return { hbone: `${address}:${port}`, ...this.#admin.addresses };
  }

  async start(): Promise<void> {
    const { logger, listen } = this.#options;
    const dumpSources = {
      waypoint: `${this.#options.namespace}/${this.#options.name}`,
      state: this.#state,
      secrets: this.#runtime.secrets,
      xds: this.#runtime.xds,
      ready: () => this.ready,
      mesh: () => this.#runtime.mesh.config,
    };
    this.#admin = await startProxyPorts({
      ...this.#options,
      configDump: () => configDump(dumpSources),
      ready: () => this.ready,
      notReady: 'waiting for xDS sync and a certificate',
      quit: () => process.kill(process.pid, 'SIGTERM'),
    });
    this.#listener.listen({ host: listen.host, port: listen.port, backlog: 1024 });
    await once(this.#listener, 'listening');
    this.#runtime.start(() =>
      logger.info({ services: this.#state.services().length }, 'xDS synced'),
    );
    logger.info({ identity: this.identity, addresses: this.addresses }, 'waypoint started');
  }

  /**
   * Graceful drain (SIGTERM): stop accepting, close idle HTTP connections and answer the
   * rest with `connection: close`, GOAWAY every tunnel, cut what is left at the deadline.
   */
  async stop(): Promise<void> {
    const { logger, drainMs } = this.#options;
    const started = Date.now();
    this.#listener.close();
    logger.info({ tunnels: this.#hbone.connections(), deadlineMs: drainMs }, 'draining');
    this.#runtime.proxy.drain();
    // The HBONE server resolves its drain when every connection has closed; a connection
    // whose peer vanished mid-drain can fail to report that, so the deadline stands alone too.
    let timer: NodeJS.Timeout | undefined;
    const cutoff = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainMs + DRAIN_GRACE_MS);
    });
    await Promise.race([this.#hbone.drain(drainMs), cutoff]);
    clearTimeout(timer);
    logger.info({ tookMs: Date.now() - started }, 'drained');
    await this.#runtime.close();
    await this.#admin?.close();
  }
}
