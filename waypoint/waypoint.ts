import { once } from 'node:events';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { HbonePool } from '../core/hbone/pool.js';
import { HboneServer } from '../core/hbone/server.js';
import { CaClient } from '../core/identity/ca-client.js';
import { SecretManager } from '../core/identity/secret-manager.js';
import { identityOf, type Identity, type TrustDomain } from '../core/identity/spiffe.js';
import type { Logger } from '../core/telemetry/log.js';
import type { Registry } from '../core/telemetry/metrics.js';
import { DeltaXdsClient, type ResourceDelta } from '../core/xds/client.js';
import { DEFAULT_MESH_CONFIG } from '../api/mesh/config.js';
import { decodeMeshConfig } from '../api/mesh/codec.js';
import { MESH_CONFIG_TYPE_URL } from '../api/xds/type-urls.js';
import { decodeWaypointService } from '../api/waypoint/codec.js';
import { WAYPOINT_SERVICE_TYPE_URL, type WaypointService } from '../api/waypoint/config.js';
import { startProxyPorts, type ProxyPorts } from '../core/admin/proxy-ports.js';
import { configDump } from './admin.js';
import { WaypointMetrics } from './metrics.js';
import { WaypointProxy } from './proxy/proxy.js';
import type { RequestDoneHook } from './proxy/record.js';
import { MeshTunnels } from './proxy/tunnels.js';
import { WaypointState } from './state.js';
import { WaypointTelemetry } from './telemetry/telemetry.js';

/** How long past the drain deadline stop() waits for cut connections to report closed. */
const DRAIN_GRACE_MS = 1000;

export interface WaypointOptions {
  /** The waypoint's name and namespace (its Gateway's); services bound to it are served. */
  name: string;
  namespace: string;
  /** Whose identity the waypoint has; Istio names it after the waypoint. */
  serviceAccount: string;
  trustDomain: TrustDomain;
  /** The control plane: xDS and the CA, over gRPC with TLS. */
  xdsAddress: string;
  caAddress: string;
  /** PEM of the control plane's root, to verify its serving certificate. */
  controlPlaneRoot: string;
  /** The name in the control plane's serving certificate. */
  servername: string;
  /** The bearer token naming the waypoint's namespace and service account. */
  token: () => Promise<string>;
  /** The HBONE listener (15008). */
  listen: { host: string; port: number };
  admin: { host: string; port: number };
  metrics: { host: string; port: number };
  readiness: { host: string; port: number };
  drainMs: number;
  logger: Logger;
  registry: Registry;
  /** Where endpoints take HBONE: 15008 in a mesh; a loopback test may move it. */
  hbonePort?: number;
  /** Told of every finished HTTP request, after the waypoint's own metrics. */
  onRequestDone?: RequestDoneHook;
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
  readonly #xds: DeltaXdsClient;
  readonly #ca: CaClient;
  readonly #secrets: SecretManager;
  readonly #pool: HbonePool;
  readonly #proxy: WaypointProxy;
  readonly #hbone: HboneServer;
  readonly #listener: Server;
  readonly #telemetry: WaypointTelemetry;
  #admin: ProxyPorts | undefined;
  #synced = false;

  constructor(options: WaypointOptions) {
    this.#options = options;
    const { logger, registry } = options;
    const waypoint = `${options.namespace}/${options.name}`;
    this.identity = identityOf({
      trustDomain: options.trustDomain,
      namespace: options.namespace,
      serviceAccount: options.serviceAccount,
    });
    this.#state = new WaypointState({ waypoint, clock: { now: () => performance.now() } });
    const tls = { ca: options.controlPlaneRoot, servername: options.servername };
    const nodeId = `waypoint~${options.name}.${options.namespace}`;
    this.#telemetry = new WaypointTelemetry({
      node: { id: nodeId, name: options.name, namespace: options.namespace },
      registry,
      logger: logger.child({ component: 'tracing' }),
    });
    this.#xds = new DeltaXdsClient({
      address: options.xdsAddress,
      tls,
      token: options.token,
      node: {
        id: nodeId,
        metadata: {
          NAMESPACE: options.namespace,
          WAYPOINT_NAME: options.name,
          SERVICE_ACCOUNT: options.serviceAccount,
        },
      },
      typeUrls: [WAYPOINT_SERVICE_TYPE_URL, MESH_CONFIG_TYPE_URL],
      logger: logger.child({ component: 'xds' }),
      registry,
      onResources: (typeUrl, delta) =>
        typeUrl === MESH_CONFIG_TYPE_URL ? this.#applyMesh(delta) : this.#apply(delta),
    });
    this.#ca = new CaClient({
      address: options.caAddress,
      tls,
      token: options.token,
      logger: logger.child({ component: 'ca' }),
    });
    this.#secrets = new SecretManager({
      // The waypoint's token names its own identity: no impersonation.
      issue: (identity) => this.#ca.issue(identity),
      logger: logger.child({ component: 'certificates' }),
      registry,
    });
    this.#pool = new HbonePool({ logger: logger.child({ component: 'pool' }) });
    const metrics = new WaypointMetrics(registry);
    this.#proxy = new WaypointProxy({
      state: this.#state,
      tunnels: new MeshTunnels({
        pool: this.#pool,
        credentials: () => this.#secrets.get(this.identity),
        ...(options.hbonePort === undefined ? {} : { port: options.hbonePort }),
      }),
      logger: logger.child({ component: 'proxy' }),
      onRequestDone: (record) => {
        metrics.requestDone(record);
        this.#telemetry.requestDone(record);
        options.onRequestDone?.(record);
      },
      tracing: this.#telemetry.tracing,
      pathNormalization: () => this.#telemetry.settings.mesh.pathNormalization,
    });
    this.#hbone = new HboneServer({
      credentials: () => this.#secrets.current(this.identity),
      onRequest: (request) => this.#proxy.handleTunnel(request),
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
    return this.#synced && this.#secrets.current(this.identity) !== undefined;
  }

  /** Where each port listens, once started. */
  get addresses(): Record<'hbone' | 'admin' | 'metrics' | 'readiness', string> | undefined {
    if (this.#admin === undefined) return undefined;
    const { address, port } = this.#listener.address() as AddressInfo;
    return { hbone: `${address}:${port}`, ...this.#admin.addresses };
  }

  async start(): Promise<void> {
    const { logger, listen } = this.#options;
    this.#secrets.track(this.identity);
    const dumpSources = {
      waypoint: `${this.#options.namespace}/${this.#options.name}`,
      state: this.#state,
      secrets: this.#secrets,
      xds: this.#xds,
      ready: () => this.ready,
      mesh: () => this.#telemetry.settings.mesh,
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
    this.#xds.start();
    void this.#xds.whenSynced().then(
      () => {
        this.#synced = true;
        logger.info({ services: this.#state.services().length }, 'xDS synced');
      },
      () => undefined,
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
    this.#proxy.drain();
    // The HBONE server resolves its drain when every connection has closed; a connection
    // whose peer vanished mid-drain can fail to report that, so the deadline stands alone too.
    let timer: NodeJS.Timeout | undefined;
    const cutoff = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainMs + DRAIN_GRACE_MS);
    });
    await Promise.race([this.#hbone.drain(drainMs), cutoff]);
    clearTimeout(timer);
    logger.info({ tookMs: Date.now() - started }, 'drained');
    this.#proxy.close();
    this.#pool.close();
    this.#xds.close();
    this.#ca.close();
    this.#secrets.close();
    await this.#telemetry.close();
    await this.#admin?.close();
  }

  /** Decodes every resource first, so an invalid one NACKs the push and changes nothing. */
  #apply(delta: ResourceDelta): void {
    const upserts = new Map<string, WaypointService>();
    for (const [name, update] of delta.upserts)
      upserts.set(name, decodeWaypointService(update.resource));
    this.#state.apply(upserts, delta.removals);
    this.#telemetry.configure(undefined, this.#state.services());
  }

  /** The one MeshConfig resource; its removal means Istio's defaults. */
  #applyMesh(delta: ResourceDelta): void {
    let mesh = delta.removals.length > 0 ? DEFAULT_MESH_CONFIG : undefined;
    for (const update of delta.upserts.values()) mesh = decodeMeshConfig(update.resource);
    this.#telemetry.configure(mesh, this.#state.services());
  }
}
