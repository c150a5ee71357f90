import * as grpc from '@grpc/grpc-js';
import type { AddressInfo } from 'node:net';
import { AdminServer, json } from '../core/admin/server.js';
import { ConfigView } from '../core/config/config-view.js';
import type { ConfigSource } from '../core/config/source.js';
import { identityParts, type Identity, type TrustDomain } from '../core/identity/spiffe.js';
import type { Logger } from '../core/telemetry/log.js';
import type { Registry } from '../core/telemetry/metrics.js';
import { AmbientIndex } from './ambient/index.js';
import type { Authenticator } from './auth/authenticator.js';
import { CertificateAuthority } from './ca/authority.js';
import type { PodLocator } from './ca/impersonation.js';
import { CertificateService } from './ca/service.js';
import { issueServingCertificate } from './ca/serving.js';
import { loadPluggedCa, loadSelfSignedCa } from './ca/store.js';
import type { MeshModel } from './model/mesh-model.js';
import { XdsServer } from './xds/server.js';

export interface Endpoint {
  host: string;
  port: number;
}

export interface ControlPlaneOptions {
  source: ConfigSource;
  authenticator: Authenticator;
  logger: Logger;
  registry: Registry;
  /** Where a self-signed root is created and kept. */
  stateDir: string;
  /** A plug-in CA directory (Istio's file names); when set, no root is created. */
  pluginCaDir?: string;
  trustDomain: TrustDomain;
  rootNamespace: string;
  clusterId: string;
  domainSuffix: string;
  maxCertTtlMs: number;
  /** gRPC over TLS for xDS and the CA (Istio's 15012). */
  grpc: Endpoint;
  /** /metrics, /ready and /debug on loopback (Istio's 15014). */
  monitoring: Endpoint;
  /** Extra DNS names for the serving certificate. */
  servingDnsNames?: string[];
  pushDebounceMs?: number;
}

export interface ControlPlaneAddresses {
  grpc: AddressInfo;
  monitoring: AddressInfo;
  /** The trust bundle clients verify the gRPC server and issued certificates with. */
  rootCertPem: string;
}

/**
 * The control plane, wired: config source → view → mesh model → ambient index → Delta ADS,
 * and the CA, on one gRPC-over-TLS server. Constructed and started without a process, so
 * tests run it whole; `main.ts` only turns flags into these options.
 */
export class ControlPlane {
  readonly #options: ControlPlaneOptions;
  readonly #log: Logger;
  readonly #view = new ConfigView();
  readonly #index: AmbientIndex;
  readonly #xds: XdsServer;
  #grpcServer: grpc.Server | undefined;
  #monitoring: AdminServer | undefined;
  #ready = false;
  #unsubscribe: (() => void)[] = [];

  constructor(options: ControlPlaneOptions) {
    this.#options = options;
    this.#log = options.logger;
    this.#index = new AmbientIndex({
      logger: options.logger.child({ component: 'ambient' }),
      clusterId: options.clusterId,
      trustDomain: options.trustDomain,
      rootNamespace: options.rootNamespace,
      domainSuffix: options.domainSuffix,
    });
    this.#xds = new XdsServer({
      logger: options.logger.child({ component: 'xds' }),
      registry: options.registry,
      authenticator: options.authenticator,
      ...(options.pushDebounceMs === undefined ? {} : { debounceMs: options.pushDebounceMs }),
    });
  }

  /** The model last built from config; undefined before the first view arrives. */
  model(): MeshModel | undefined {
    return this.#index.model();
  }

  async start(): Promise<ControlPlaneAddresses> {
    const o = this.#options;
    const material = o.pluginCaDir
      ? await loadPluggedCa({ dir: o.pluginCaDir, logger: this.#log })
      : await loadSelfSignedCa({
          stateDir: o.stateDir,
          trustDomain: o.trustDomain,
          logger: this.#log,
        });
    const authority = new CertificateAuthority(material, { maxTtlMs: o.maxCertTtlMs });
    const serving = await issueServingCertificate(authority, { dnsNames: o.servingDnsNames ?? [] });

    this.#unsubscribe.push(
      this.#index.subscribe((typeUrl, resources) => this.#xds.update(typeUrl, resources)),
    );
    this.#unsubscribe.push(
      o.source.subscribe((event) => {
        if (this.#view.apply(event)) this.#index.updateFromResources(this.#view.resources());
      }),
    );
    await o.source.start();
    // An empty config is still a first complete view: publish it so clients can sync.
    if (this.#index.model() === undefined) this.#index.updateFromResources([]);

    const server = new grpc.Server({ 'grpc.keepalive_permit_without_calls': 1 });
    const xds = this.#xds.service();
    server.addService(xds.definition, xds.implementation);
    new CertificateService({
      authority,
      authenticator: o.authenticator,
      podLocator: this.#podLocator(),
      trustDomain: o.trustDomain,
      logger: this.#log.child({ component: 'ca' }),
      registry: o.registry,
    }).register(server);
    const credentials = grpc.ServerCredentials.createSsl(
      null,
      [{ private_key: Buffer.from(serving.keyPem), cert_chain: Buffer.from(serving.certChainPem) }],
      false,
    );
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${o.grpc.host}:${o.grpc.port}`, credentials, (err, bound) =>
        err ? reject(err) : resolve(bound),
      ),
    );
    this.#grpcServer = server;

    this.#monitoring = new AdminServer({
      host: o.monitoring.host,
      port: o.monitoring.port,
      registry: o.registry,
      routes: {
        '/ready': () => (this.#ready ? json({ ready: true }) : json({ ready: false }, 503)),
        '/debug/connections': () => json(this.#xds.clients()),
        '/debug/config': () =>
          json({
            resources: this.#view.resources().length,
            rejected: this.#view.rejections().map((e) => e.message),
            // Analyzer findings: what is valid alone but cannot be served as written.
            issues: [...(this.#index.model()?.issues ?? []), ...this.#index.waypointIssues()],
          }),
      },
    });
    const monitoring = await this.#monitoring.listen();
    this.#ready = true;
    const grpcAddress: AddressInfo = { address: o.grpc.host, family: 'IPv4', port };
    this.#log.info(
      { grpc: `${o.grpc.host}:${port}`, monitoring: `${monitoring.address}:${monitoring.port}` },
      'control plane serving',
    );
    return { grpc: grpcAddress, monitoring, rootCertPem: serving.rootCertPem };
  }

  /** Stops accepting, ends streams, and releases the config source. */
  async stop(): Promise<void> {
    this.#ready = false;
    for (const unsubscribe of this.#unsubscribe.splice(0)) unsubscribe();
    await this.#options.source.stop();
    this.#xds.close();
    const server = this.#grpcServer;
    if (server) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), 5000);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    await this.#monitoring?.close();
  }

  /** The CA asks the model whether a pod with an identity runs on a node tunnel's node. */
  #podLocator(): PodLocator {
    return {
      hasPodOnNode: (node: string, identity: Identity) => {
        const { namespace, serviceAccount, trustDomain } = identityParts(identity);
        if (trustDomain !== this.#options.trustDomain) return false;
        return (this.model()?.pods ?? []).some(
          (pod) =>
            !pod.terminal &&
            pod.node === node &&
            pod.namespace === namespace &&
            pod.serviceAccount === serviceAccount,
        );
      },
    };
  }
}
