import type { Any } from '@bufbuild/protobuf/wkt';
import { PushedMeshConfig } from '../api/mesh/pushed.js';
import type { WaypointService } from '../api/waypoint/config.js';
import { ADDRESS_TYPE_URL, MESH_CONFIG_TYPE_URL, type TypeUrl } from '../api/xds/type-urls.js';
import { HbonePool } from '../core/hbone/pool.js';
import { CaClient } from '../core/identity/ca-client.js';
import { SecretManager } from '../core/identity/secret-manager.js';
import { identityOf, type Identity } from '../core/identity/spiffe.js';
import type { ProxySettings } from '../core/program/proxy-flags.js';
import type { Logger } from '../core/telemetry/log.js';
import type { Registry } from '../core/telemetry/metrics.js';
import { DeltaXdsClient, type ResourceDelta } from '../core/xds/client.js';
import { WaypointMetrics } from './metrics.js';
import { WaypointProxy, type WaypointProxyOptions } from './proxy/proxy.js';
import type { RequestDoneHook } from './proxy/record.js';
import { MeshTunnels } from './proxy/tunnels.js';
import type { Reporter } from './telemetry/istio-metrics.js';
import { SourceWorkloads } from './telemetry/source-workloads.js';
import { WaypointTelemetry } from './telemetry/telemetry.js';

/** What every L7 proxy (a waypoint, or the program in gateway mode) is told at start. */
export interface L7ProxyOptions extends ProxySettings {
  /** Its name and namespace: the waypoint's Gateway, or the gateway's pod. */
  name: string;
  namespace: string;
  /** Whose identity it has. */
  serviceAccount: string;
  logger: Logger;
  registry: Registry;
  /** Where endpoints take HBONE: 15008 in a mesh; a loopback test may move it. */
  hbonePort?: number;
  /** Told of every finished HTTP request, after the proxy's own telemetry. */
  onRequestDone?: RequestDoneHook;
}

/** What makes a waypoint a waypoint and a gateway a gateway, as the runtime needs it. */
export interface L7Role<C> {
  /** Istio's xDS node id prefix: `waypoint`, or `router` for a gateway. */
  readonly nodeKind: 'waypoint' | 'router';
  readonly nodeMetadata: Record<string, string>;
  /** Its own config's resource type, beside MeshConfig. */
  readonly typeUrl: TypeUrl;
  /** Checks one resource; throws (so the push is NACKed) when it cannot be used. */
  decode(resource: Any): C;
  apply(upserts: ReadonlyMap<string, C>, removals: readonly string[]): void;
  /** The services its telemetry settings come from, as now configured. */
  services(): readonly WaypointService[];
  /** Where the request pipeline looks routes and clusters up. */
  readonly routes: WaypointProxyOptions['state'];
  /** Absent: a waypoint's request metrics. */
  reporter?(identity: Identity): Reporter;
}

/**
 * What a waypoint and the gateway mode share: their own certificate from the CA (no
 * impersonation: the token names the identity) kept fresh, one Delta xDS stream for their
 * config and MeshConfig, the upstream HBONE pool with their identity, the request pipeline,
 * and its telemetry. Each role adds its listeners and readiness around it.
 */
export class L7Runtime<C> {
  readonly identity: Identity;
  readonly secrets: SecretManager;
  readonly xds: DeltaXdsClient;
  readonly proxy: WaypointProxy;
  readonly telemetry: WaypointTelemetry;
  readonly mesh = new PushedMeshConfig();
  /** The mesh's workloads by IP, to name a waypoint's callers in its metrics. */
  readonly sources = new SourceWorkloads();
  readonly #role: L7Role<C>;
  readonly #ca: CaClient;
  readonly #pool: HbonePool;
  #synced = false;

  constructor(options: L7ProxyOptions, role: L7Role<C>) {
    const { logger, registry } = options;
    this.#role = role;
    this.identity = identityOf({
      trustDomain: options.trustDomain,
      namespace: options.namespace,
      serviceAccount: options.serviceAccount,
    });
    const nodeId = `${role.nodeKind}~${options.name}.${options.namespace}`;
    this.telemetry = new WaypointTelemetry({
      node: { id: nodeId, name: options.name, namespace: options.namespace },
      registry,
      logger: logger.child({ component: 'tracing' }),
      reporter: role.reporter?.(this.identity) ?? {
        kind: 'waypoint',
        sources: (ip) => this.sources.lookup(ip),
      },
    });
    const tls = { ca: options.controlPlaneRoot, servername: options.servername };
    this.xds = new DeltaXdsClient({
      address: options.xdsAddress,
      tls,
      token: options.token,
      node: { id: nodeId, metadata: role.nodeMetadata },
      // A gateway names itself as the source: it needs no one else's workload.
      typeUrls: [
        role.typeUrl,
        MESH_CONFIG_TYPE_URL,
        ...(role.reporter === undefined ? [ADDRESS_TYPE_URL] : []),
      ],
      logger: logger.child({ component: 'xds' }),
      registry,
      onResources: (typeUrl, delta) => {
        if (typeUrl === MESH_CONFIG_TYPE_URL) this.#applyMesh(delta);
        else if (typeUrl === ADDRESS_TYPE_URL) this.sources.apply(delta);
        else this.#apply(delta);
      },
    });
    this.#ca = new CaClient({
      address: options.caAddress,
      tls,
      token: options.token,
      logger: logger.child({ component: 'ca' }),
    });
    this.secrets = new SecretManager({
      issue: (identity) => this.#ca.issue(identity),
      logger: logger.child({ component: 'certificates' }),
      registry,
    });
    this.#pool = new HbonePool({ logger: logger.child({ component: 'pool' }) });
    const metrics = new WaypointMetrics(registry);
    this.proxy = new WaypointProxy({
      state: role.routes,
      tunnels: new MeshTunnels({
        pool: this.#pool,
        credentials: () => this.secrets.get(this.identity),
        ...(options.hbonePort === undefined ? {} : { port: options.hbonePort }),
      }),
      logger: logger.child({ component: 'proxy' }),
      onRequestDone: (record) => {
        metrics.requestDone(record);
        this.telemetry.requestDone(record);
        options.onRequestDone?.(record);
      },
      tracing: this.telemetry.tracing,
      pathNormalization: () => this.mesh.config.pathNormalization,
    });
  }

  /** The first xDS sync is applied and a certificate is held. */
  get ready(): boolean {
    return this.#synced && this.secrets.current(this.identity) !== undefined;
  }

  /** Asks for the certificate and opens the xDS stream; `onSynced` runs at the first sync. */
  start(onSynced: () => void): void {
    this.secrets.track(this.identity);
    this.xds.start();
    void this.xds.whenSynced().then(
      () => {
        this.#synced = true;
        onSynced();
      },
      () => undefined,
    );
  }

  /** After the role's drain: closes upstreams and the control-plane streams, flushes spans. */
  async close(): Promise<void> {
    this.proxy.close();
    this.#pool.close();
    this.xds.close();
    this.#ca.close();
    this.secrets.close();
    await this.telemetry.close();
  }

  /** Decodes every resource first, so an invalid one NACKs the push and changes nothing. */
  #apply(delta: ResourceDelta): void {
    const upserts = new Map<string, C>();
    for (const [name, update] of delta.upserts)
      upserts.set(name, this.#role.decode(update.resource));
    this.#role.apply(upserts, delta.removals);
    this.telemetry.configure(undefined, this.#role.services());
  }

  #applyMesh(delta: ResourceDelta): void {
    this.mesh.apply(delta);
    this.telemetry.configure(this.mesh.config, this.#role.services());
  }
}
