import { HbonePool } from '../../core/hbone/pool.js';
import { CaClient } from '../../core/identity/ca-client.js';
import { SecretManager } from '../../core/identity/secret-manager.js';
import { identityOf, type Identity, type TrustDomain } from '../../core/identity/spiffe.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { Registry } from '../../core/telemetry/metrics.js';
import { DeltaXdsClient, type ResourceDelta } from '../../core/xds/client.js';
import { DEFAULT_MESH_CONFIG } from '../../api/mesh/config.js';
import { decodeMeshConfig } from '../../api/mesh/codec.js';
import { MESH_CONFIG_TYPE_URL } from '../../api/xds/type-urls.js';
import { decodeGatewayProxy } from '../../api/gateway/codec.js';
import { GATEWAY_PROXY_TYPE_URL, type GatewayProxy } from '../../api/gateway/config.js';
import { startProxyPorts, type ProxyPorts } from '../../core/admin/proxy-ports.js';
import { WaypointMetrics } from '../metrics.js';
import { WaypointProxy } from '../proxy/proxy.js';
import type { RequestDoneHook } from '../proxy/record.js';
import { MeshTunnels } from '../proxy/tunnels.js';
import { WaypointTelemetry } from '../telemetry/telemetry.js';
import { gatewayConfigDump } from './admin.js';
import { GatewayListeners } from './listeners.js';
import { GatewayState } from './state.js';

export interface GatewayOptions {
  /** The gateway pod's name and namespace: the GatewayProxy the control plane compiled for it. */
  name: string;
  namespace: string;
  /** Whose identity the gateway has: the pod's service account. */
  serviceAccount: string;
  trustDomain: TrustDomain;
  xdsAddress: string;
  caAddress: string;
  controlPlaneRoot: string;
  servername: string;
  token: () => Promise<string>;
  /** The address every listener port binds (default 0.0.0.0). */
  listenHost: string;
  admin: { host: string; port: number };
  metrics: { host: string; port: number };
  readiness: { host: string; port: number };
  drainMs: number;
  logger: Logger;
  registry: Registry;
  /** Where endpoints take HBONE: 15008 in a mesh. */
  hbonePort?: number;
  onRequestDone?: RequestDoneHook;
}

/**
 * The ingress gateway: the waypoint program's gateway mode. Its own certificate from the CA
 * (it is a mesh workload: upstream requests go over HBONE with its identity), its
 * GatewayProxy from Delta xDS, a listener per configured port, and the waypoint's request
 * pipeline behind them.
 */
export class Gateway {
  readonly identity: Identity;
  readonly #options: GatewayOptions;
  readonly #state: GatewayState;
  readonly #xds: DeltaXdsClient;
  readonly #ca: CaClient;
  readonly #secrets: SecretManager;
  readonly #pool: HbonePool;
  readonly #proxy: WaypointProxy;
  readonly #listeners: GatewayListeners;
  readonly #telemetry: WaypointTelemetry;
  #admin: ProxyPorts | undefined;
  #synced = false;

  constructor(options: GatewayOptions) {
    this.#options = options;
    const { logger, registry } = options;
    this.identity = identityOf({
      trustDomain: options.trustDomain,
      namespace: options.namespace,
      serviceAccount: options.serviceAccount,
    });
    this.#state = new GatewayState({
      namespace: options.namespace,
      serviceAccount: options.serviceAccount,
      name: options.name,
      clock: { now: () => performance.now() },
    });
    const tls = { ca: options.controlPlaneRoot, servername: options.servername };
    const nodeId = `router~${options.name}.${options.namespace}`;
    // Istio's gateways report their requests as the source, with their own workload's names.
    this.#telemetry = new WaypointTelemetry({
      node: { id: nodeId, name: options.name, namespace: options.namespace },
      registry,
      logger: logger.child({ component: 'tracing' }),
      reporter: {
        kind: 'gateway',
        identity: this.identity,
        workload: () => this.#state.config?.telemetry?.source,
      },
    });
    this.#xds = new DeltaXdsClient({
      address: options.xdsAddress,
      tls,
      token: options.token,
      node: {
        id: nodeId,
        metadata: {
          NAMESPACE: options.namespace,
          NAME: options.name,
          SERVICE_ACCOUNT: options.serviceAccount,
        },
      },
      typeUrls: [GATEWAY_PROXY_TYPE_URL, MESH_CONFIG_TYPE_URL],
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
      issue: (identity) => this.#ca.issue(identity),
      logger: logger.child({ component: 'certificates' }),
      registry,
    });
    this.#pool = new HbonePool({ logger: logger.child({ component: 'pool' }) });
    const metrics = new WaypointMetrics(registry);
    this.#proxy = new WaypointProxy({
      state: this.#state.clusters,
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
    this.#listeners = new GatewayListeners({
      state: this.#state,
      proxy: this.#proxy,
      logger: logger.child({ component: 'listeners' }),
      host: options.listenHost,
    });
    this.#state.onListenersChanged((listeners) => void this.#listeners.update(listeners));
  }

  /** Ready: the first xDS sync is applied, a certificate is held, every listener is open. */
  get ready(): boolean {
    const configured = this.#state.config?.listeners.length ?? 0;
    return (
      this.#synced &&
      this.#secrets.current(this.identity) !== undefined &&
      this.#listeners.ports().length === configured
    );
  }

  /** The ports listening now. */
  ports(): number[] {
    return this.#listeners.ports();
  }

  async start(): Promise<void> {
    const { logger, namespace, name } = this.#options;
    this.#secrets.track(this.identity);
    const dumpSources = {
      gateway: `${namespace}/${name}`,
      state: this.#state,
      ports: () => this.ports(),
      secrets: this.#secrets,
      xds: this.#xds,
      ready: () => this.ready,
      mesh: () => this.#telemetry.settings.mesh,
    };
    this.#admin = await startProxyPorts({
      ...this.#options,
      configDump: () => gatewayConfigDump(dumpSources),
      ready: () => this.ready,
      notReady: 'waiting for xDS sync and a certificate',
      quit: () => process.kill(process.pid, 'SIGTERM'),
    });
    this.#xds.start();
    void this.#xds.whenSynced().then(
      () => {
        this.#synced = true;
        logger.info({ listeners: this.ports() }, 'xDS synced');
      },
      () => undefined,
    );
    logger.info({ identity: this.identity, resource: this.#state.resourceName }, 'gateway started');
  }

  /** Graceful drain: stop accepting, let HTTP finish within the deadline, then cut the rest. */
  async stop(): Promise<void> {
    const { logger, drainMs } = this.#options;
    this.#listeners.stopAccepting();
    const started = Date.now();
    this.#proxy.drain();
    await this.#listeners.drained(drainMs);
    this.#listeners.destroy();
    logger.info({ tookMs: Date.now() - started }, 'drained');
    this.#proxy.close();
    this.#pool.close();
    this.#xds.close();
    this.#ca.close();
    this.#secrets.close();
    await this.#telemetry.close();
    await this.#admin?.close();
  }

  /** Decodes first, so an invalid resource NACKs the push and changes nothing. */
  #apply(delta: ResourceDelta): void {
    const upserts = new Map<string, GatewayProxy>();
    for (const [name, update] of delta.upserts)
      upserts.set(name, decodeGatewayProxy(update.resource));
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
