import { HbonePool } from '../core/hbone/pool.js';
import { CaClient } from '../core/identity/ca-client.js';
import { SecretManager } from '../core/identity/secret-manager.js';
import type { ProxySettings } from '../core/program/proxy-flags.js';
import type { Logger } from '../core/telemetry/log.js';
import type { Registry } from '../core/telemetry/metrics.js';
import { AccessLog } from '../core/telemetry/access-log.js';
import { DeltaXdsClient, type ResourceDelta } from '../core/xds/client.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  MESH_CONFIG_TYPE_URL,
} from '../api/xds/type-urls.js';
import { startProxyPorts, type ProxyPorts } from '../core/admin/proxy-ports.js';
import { ConnectionAccessLog } from './access-log.js';
import { configDump } from './admin.js';
import { ConnectionTracker } from './connections.js';
import type { ProxyContext } from './context.js';
import { Inbound } from './inbound/inbound.js';
import { PodManager } from './inpod/manager.js';
import { ZdsClient } from './inpod/zds-client.js';
import { TcpMetrics } from './metrics.js';
import { Outbound } from './outbound/outbound.js';
import { PushedMeshConfig } from '../api/mesh/pushed.js';
import { ProxyState } from './state/state.js';

/** The proxy flags' settings, and what only ztunnel has. */
export interface ZtunnelOptions extends ProxySettings {
  node: string;
  zdsSocket: string;
  logger: Logger;
  registry: Registry;
}

/**
 * The node tunnel, wired: the xDS client fills the proxy state, the enrollment client
 * brings pods (each with its listeners and certificate), and inbound and outbound carry
 * their connections.
 */
export class Ztunnel {
  readonly #options: ZtunnelOptions;
  readonly #state = new ProxyState();
  readonly #mesh = new PushedMeshConfig();
  readonly #xds: DeltaXdsClient;
  readonly #ca: CaClient;
  readonly #secrets: SecretManager;
  readonly #pool: HbonePool;
  readonly #connections = new ConnectionTracker();
  readonly #accessLog = new ConnectionAccessLog(new AccessLog());
  readonly #pods: PodManager;
  readonly #zds: ZdsClient;
  #admin: ProxyPorts | undefined;
  #synced = false;

  constructor(options: ZtunnelOptions) {
    this.#options = options;
    const { logger, registry } = options;
    const tls = { ca: options.controlPlaneRoot, servername: options.servername };
    this.#xds = new DeltaXdsClient({
      address: options.xdsAddress,
      tls,
      token: options.token,
      node: { id: `ztunnel~${options.node}`, metadata: { NODE_NAME: options.node } },
      typeUrls: [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, MESH_CONFIG_TYPE_URL],
      logger: logger.child({ component: 'xds' }),
      registry,
      onResources: (typeUrl, delta) => {
        if (typeUrl === ADDRESS_TYPE_URL) this.#state.applyAddresses(delta);
        else if (typeUrl === MESH_CONFIG_TYPE_URL) this.#applyMesh(delta);
        else this.#state.applyAuthorizations(delta);
      },
    });
    this.#ca = new CaClient({
      address: options.caAddress,
      tls,
      token: options.token,
      logger: logger.child({ component: 'ca' }),
    });
    this.#secrets = new SecretManager({
      issue: (identity) => this.#ca.issue(identity, { impersonate: true }),
      logger: logger.child({ component: 'certificates' }),
      registry,
    });
    this.#pool = new HbonePool({ logger: logger.child({ component: 'pool' }) });
    const metrics = new TcpMetrics(registry);
    const ctx: ProxyContext = {
      state: this.#state,
      mesh: this.#mesh,
      secrets: this.#secrets,
      pool: this.#pool,
      metrics,
      connections: this.#connections,
      accessLog: this.#accessLog,
      logger,
    };
    this.#pods = new PodManager({
      deps: {
        inbound: new Inbound(ctx),
        outbound: new Outbound(ctx),
        secrets: this.#secrets,
        metrics,
        logger: logger.child({ component: 'inpod' }),
      },
      trustDomain: options.trustDomain,
      logger: logger.child({ component: 'inpod' }),
      drainMs: options.drainMs,
    });
    this.#zds = new ZdsClient({
      path: options.zdsSocket,
      pods: this.#pods,
      logger: logger.child({ component: 'zds' }),
    });
  }

  /** Ready to carry traffic: the first full xDS sync is applied and enrollment is up. */
  get ready(): boolean {
    return this.#synced && this.#zds.ready;
  }

  async start(): Promise<void> {
    const { logger } = this.#options;
    const dumpSources = {
      node: this.#options.node,
      state: this.#state,
      mesh: this.#mesh,
      secrets: this.#secrets,
      pods: this.#pods,
      connections: this.#connections,
      xds: this.#xds,
      ready: () => this.ready,
    };
    this.#admin = await startProxyPorts({
      ...this.#options,
      configDump: () => configDump(dumpSources),
      ready: () => this.ready,
      notReady: 'waiting for xDS sync and the node agent',
      quit: () => process.kill(process.pid, 'SIGTERM'),
    });
    this.#xds.start();
    this.#zds.start();
    void this.#xds.whenSynced().then(
      () => {
        this.#synced = true;
        logger.info('xDS synced');
      },
      () => undefined,
    );
    logger.info({ node: this.#options.node, admin: this.#admin.addresses }, 'ztunnel started');
  }

  /**
   * Graceful drain (SIGTERM): stop taking new connections in every pod, let open tunnels
   * finish until the deadline, then cut what is left and close the rest.
   */
  async stop(): Promise<void> {
    const { logger, drainMs } = this.#options;
    const started = Date.now();
    this.#zds.close();
    const open = this.#connections.size;
    logger.info({ open, deadlineMs: drainMs }, 'draining');
    const [, outcome] = await Promise.all([
      this.#pods.stopAll(drainMs),
      this.#connections.drain(drainMs),
    ]);
    logger.info({ ...outcome, tookMs: Date.now() - started }, 'drained');
    this.#pool.close();
    this.#xds.close();
    this.#ca.close();
    this.#secrets.close();
    this.#accessLog.flush();
    await this.#admin?.close();
  }

  /** The one MeshConfig resource: read per new connection, and it switches the access log. */
  #applyMesh(delta: ResourceDelta): void {
    this.#mesh.apply(delta);
    this.#accessLog.configure(this.#mesh.config);
  }
}
