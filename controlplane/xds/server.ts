import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition } from '../../api/grpc/service.js';
import {
  AggregatedDiscoveryService,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from '../../api/gen/envoy/service/discovery/v3/discovery_pb.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { Registry } from '../../core/telemetry/metrics.js';
import type { Authenticator, Caller } from '../auth/authenticator.js';
import { bearerToken } from '../auth/bearer.js';
import { Debouncer } from './debounce.js';
import { xdsMetrics, type XdsMetrics } from './metrics.js';
import { SnapshotCache } from './snapshot.js';
import { XdsStream, type DeltaCall, type XdsClientInfo } from './stream.js';

// The Delta ADS server (envoy.service.discovery.v3.AggregatedDiscoveryService/
// DeltaAggregatedResources). It is generic over type URLs: whatever update() is given is served
// to the streams subscribed to it. The state-of-the-world method is left unimplemented (grpc-js
// answers it with UNIMPLEMENTED): Istio's ambient clients speak delta only.

export interface XdsServerOptions {
  logger: Logger;
  registry: Registry;
  /** Every stream must carry `authorization: Bearer <token>` that this accepts. */
  authenticator: Authenticator;
  /** Quiet time after the last update() before pushing; default 100 ms. */
  debounceMs?: number;
  /** Longest a push waits while updates keep coming; default 1 s. */
  debounceMaxMs?: number;
}

/** What to pass to grpc.Server#addService. */
export interface XdsService {
  definition: grpc.ServiceDefinition;
  implementation: grpc.UntypedServiceImplementation;
}

export class XdsServer {
  readonly #logger: Logger;
  readonly #authenticator: Authenticator;
  readonly #metrics: XdsMetrics;
  readonly #cache = new SnapshotCache();
  readonly #streams = new Set<XdsStream>();
  /** Updates given since the last push, published together when the debounce ends. */
  readonly #staged = new Map<string, ReadonlyMap<string, Uint8Array>>();
  readonly #debouncer: Debouncer;
  readonly #noncePrefix = randomBytes(4).toString('hex');
  #nonceCount = 0;
  #closed = false;

  constructor(options: XdsServerOptions) {
    this.#logger = options.logger;
    this.#authenticator = options.authenticator;
    this.#metrics = xdsMetrics(options.registry);
    const delayMs = options.debounceMs ?? 100;
    this.#debouncer = new Debouncer({
      delayMs,
      maxDelayMs: options.debounceMaxMs ?? Math.max(1000, delayMs),
      flush: (firstChangeAt) => this.#push(firstChangeAt),
    });
  }

  service(): XdsService {
    const deltaAggregatedResources: grpc.handleBidiStreamingCall<
      DeltaDiscoveryRequest,
      DeltaDiscoveryResponse
    > = (call) => this.#accept(call);
    return {
      definition: serviceDefinition(AggregatedDiscoveryService) as grpc.ServiceDefinition,
      implementation: { deltaAggregatedResources } as grpc.UntypedServiceImplementation,
    };
  }

  /**
   * Replaces every resource of one type URL (name → encoded message). The change is published
   * after the debounce, as one snapshot per type however many updates came in the burst;
   * subscribed clients then get the difference. An update with the same content pushes nothing.
   */
  update(typeUrl: string, resources: ReadonlyMap<string, Uint8Array>): void {
    if (this.#closed) return;
    // A copy: the caller may reuse its map before the debounce ends.
    this.#staged.set(typeUrl, new Map(resources));
    this.#debouncer.trigger();
  }

  /** The `system_version_info` now served for a type, once its first update is published. */
  publishedVersion(typeUrl: string): string | undefined {
    return this.#cache.get(typeUrl)?.version;
  }

  /** Connected clients, for /debug. */
  clients(): XdsClientInfo[] {
    return [...this.#streams].map((stream) => stream.info());
  }

  /** Stops pushing and ends every stream; new streams are refused with UNAVAILABLE. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#debouncer.cancel();
    this.#staged.clear();
    for (const stream of [...this.#streams]) stream.end();
  }

  #accept(call: DeltaCall): void {
    if (this.#closed) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'xDS server is shutting down' });
      return;
    }
    const caller = this.#authenticate(call);
    if (caller === undefined) {
      this.#metrics.authFailures.inc();
      this.#logger.warn(
        { peer: call.getPeer() },
        'xDS stream refused: missing or unknown bearer token',
      );
      call.emit('error', {
        code: grpc.status.UNAUTHENTICATED,
        details: 'xDS needs an authorization: Bearer <token> header with a known token',
      });
      return;
    }
    const stream = new XdsStream(call, caller, {
      logger: this.#logger,
      metrics: this.#metrics,
      cache: this.#cache,
      nonce: () => `${this.#noncePrefix}-${++this.#nonceCount}`,
      onClosed: (closed) => {
        if (this.#streams.delete(closed)) this.#metrics.connectedClients.dec();
      },
    });
    this.#streams.add(stream);
    this.#metrics.connectedClients.inc();
  }

  #authenticate(call: DeltaCall): Caller | undefined {
    const token = bearerToken(call.metadata);
    if (token === undefined) return undefined;
    try {
      return this.#authenticator.authenticate(token);
    } catch (error) {
      // The contract says authenticators do not throw; if one does, the caller is refused.
      this.#logger.error({ err: error }, 'xDS authenticator failed');
      return undefined;
    }
  }

  #push(firstChangeAt: number): void {
    const changed: string[] = [];
    for (const [typeUrl, resources] of this.#staged) {
      const snapshot = this.#cache.set(typeUrl, resources);
      if (snapshot === undefined) continue;
      changed.push(typeUrl);
      this.#logger.debug(
        { type: typeUrl, version: snapshot.version, resources: snapshot.resources.size },
        'xDS snapshot published',
      );
    }
    this.#staged.clear();
    for (const stream of this.#streams) {
      try {
        for (const typeUrl of changed) stream.notify(typeUrl, firstChangeAt);
      } catch (error) {
        // One stream's fault must not stop the push to the others.
        this.#logger.error({ node: stream.nodeId, err: error }, 'xDS push to a client failed');
        stream.end();
      }
    }
  }
}
