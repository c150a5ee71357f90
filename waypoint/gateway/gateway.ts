import { decodeGatewayProxy } from '../../api/gateway/codec.js';
import { GATEWAY_PROXY_TYPE_URL, type GatewayProxy } from '../../api/gateway/config.js';
import { startProxyPorts, type ProxyPorts } from '../../core/admin/proxy-ports.js';
import type { Identity } from '../../core/identity/spiffe.js';
import { L7Runtime, type L7ProxyOptions } from '../runtime.js';
import { gatewayConfigDump } from './admin.js';
import { GatewayListeners } from './listeners.js';
import { GatewayState } from './state.js';

export interface GatewayOptions extends L7ProxyOptions {
  /** The address every listener port binds (default 0.0.0.0). */
  listenHost: string;
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
  readonly #runtime: L7Runtime<GatewayProxy>;
  readonly #listeners: GatewayListeners;
  #admin: ProxyPorts | undefined;

  constructor(options: GatewayOptions) {
    this.#options = options;
    const { logger } = options;
    const state = new GatewayState({
      namespace: options.namespace,
      serviceAccount: options.serviceAccount,
      name: options.name,
      clock: { now: () => performance.now() },
    });
    this.#state = state;
    this.#runtime = new L7Runtime(options, {
      nodeKind: 'router',
      nodeMetadata: {
        NAMESPACE: options.namespace,
        NAME: options.name,
        SERVICE_ACCOUNT: options.serviceAccount,
      },
      typeUrl: GATEWAY_PROXY_TYPE_URL,
      decode: decodeGatewayProxy,
      apply: (upserts, removals) => state.apply(upserts, removals),
      services: () => state.services(),
      routes: state.clusters,
      // Istio's gateways report their requests as the source, with their own workload's names.
      reporter: (identity) => ({
        kind: 'gateway',
        identity,
        workload: () => state.config?.telemetry?.source,
      }),
    });
    this.identity = this.#runtime.identity;
    this.#listeners = new GatewayListeners({
      state,
      proxy: this.#runtime.proxy,
      logger: logger.child({ component: 'listeners' }),
      host: options.listenHost,
    });
    state.onListenersChanged((listeners) => void this.#listeners.update(listeners));
  }

  /** Ready: the first xDS sync is applied, a certificate is held, every listener is open. */
  get ready(): boolean {
    const configured = this.#state.config?.listeners.length ?? 0;
    return this.#runtime.ready && this.#listeners.ports().length === configured;
  }

  /** The ports listening now. */
  ports(): number[] {
    return this.#listeners.ports();
  }

  async start(): Promise<void> {
    const { logger, namespace, name } = this.#options;
    const dumpSources = {
      gateway: `${namespace}/${name}`,
      state: this.#state,
      ports: () => this.ports(),
      secrets: this.#runtime.secrets,
      xds: this.#runtime.xds,
      ready: () => this.ready,
      mesh: () => this.#runtime.mesh.config,
    };
    this.#admin = await startProxyPorts({
      ...this.#options,
      configDump: () => gatewayConfigDump(dumpSources),
      ready: () => this.ready,
      notReady: 'waiting for xDS sync and a certificate',
      quit: () => process.kill(process.pid, 'SIGTERM'),
    });
    this.#runtime.start(() => logger.info({ listeners: this.ports() }, 'xDS synced'));
    logger.info({ identity: this.identity, resource: this.#state.resourceName }, 'gateway started');
  }

  /** Graceful drain: stop accepting, let HTTP finish within the deadline, then cut the rest. */
  async stop(): Promise<void> {
    const { logger, drainMs } = this.#options;
    this.#listeners.stopAccepting();
    const started = Date.now();
    this.#runtime.proxy.drain();
    await this.#listeners.drained(drainMs);
    this.#listeners.destroy();
    logger.info({ tookMs: Date.now() - started }, 'drained');
    await this.#runtime.close();
    await this.#admin?.close();
  }
}
