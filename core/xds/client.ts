import { create, type JsonObject } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import * as grpc from '@grpc/grpc-js';
import { bindClient } from '../../api/grpc/service.js';
import {
  AggregatedDiscoveryService,
  DeltaDiscoveryRequestSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from '../../api/gen/envoy/service/discovery/v3/discovery_pb.js';
import { errorCode } from '../errors.js';
import type { Logger } from '../telemetry/log.js';
import { Counter, type Registry } from '../telemetry/metrics.js';
import { Backoff } from './backoff.js';
import { XdsClientClosedError, XdsResponseInvalidError } from './errors.js';

// The one Delta xDS client (DESIGN.md §3): subscribes to every type URL it is given with a
// wildcard, hands each response to the caller, ACKs it when the caller's handler returns and
// NACKs it with the error's message when the handler throws, and reconnects with backoff,
// telling the server in `initial_resource_versions` what it already holds so that only the
// difference comes back.

/** TLS to the control plane: its CA, and a client certificate when the server asks for one. */
export interface XdsTlsOptions {
  ca: string | Buffer;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** The name to verify in the server's certificate when it differs from the address host. */
  servername?: string;
}

/** One resource of a response: its version and the packed message. */
export interface ResourceUpdate {
  readonly version: string;
  readonly resource: Any;
}

/** One response, as the handler sees it. */
export interface ResourceDelta {
  readonly upserts: ReadonlyMap<string, ResourceUpdate>;
  readonly removals: readonly string[];
}

export interface DeltaXdsClientOptions {
  /** gRPC target, e.g. `127.0.0.1:15012` or `istiod.istio-system.svc:15012`. */
  address: string;
  tls: XdsTlsOptions | 'insecure';
  /** Sent as `authorization: Bearer <token>`; a function is asked again on every connect. */
  token: string | (() => string | Promise<string>);
  node: { id: string; metadata?: JsonObject };
  typeUrls: readonly string[];
  logger: Logger;
  /**
   * Applies one response. Resolving ACKs it; throwing or rejecting NACKs it with the error's
   * message, and the client keeps holding what it held before.
   */
  onResources: (typeUrl: string, delta: ResourceDelta) => void | Promise<void>;
  /** Versions already held (type URL → name → version), e.g. restored from a cache. */
  initialVersions?: ReadonlyMap<string, ReadonlyMap<string, string>>;
  backoff?: { initialMs?: number; maxMs?: number };
  /** Where to count lost streams (`istio_xds_connection_terminations_total`, as ztunnel does). */
  registry?: Registry;
}

type AdsClient = ReturnType<typeof adsClient>;
type DeltaStream = grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

export class DeltaXdsClient {
  readonly #options: DeltaXdsClientOptions;
  readonly #logger: Logger;
  readonly #channel: grpc.Client;
  readonly #ads: AdsClient;
  readonly #backoff: Backoff;
  /** What the client holds: type URL → name → version. */
  readonly #held = new Map<string, Map<string, string>>();
  readonly #synced = new Set<string>();
  readonly #syncWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  #stream: DeltaStream | undefined;
  /** Counts streams, so that work for a stream that has ended is recognised and dropped. */
  #generation = 0;
  /** Responses are applied one at a time, in the order they arrived. */
  #applying: Promise<void> = Promise.resolve();
  #retry: NodeJS.Timeout | undefined;
  readonly #terminations: Counter<'reason'> | undefined;
  #started = false;
  #closed = false;

  constructor(options: DeltaXdsClientOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ xds: options.address, node: options.node.id });
    const initialMs = options.backoff?.initialMs ?? 500;
    const maxMs = options.backoff?.maxMs ?? 30_000;
    this.#backoff = new Backoff({ initialMs, maxMs });
    for (const typeUrl of options.typeUrls) {
      this.#held.set(typeUrl, new Map(options.initialVersions?.get(typeUrl)));
    }
    this.#channel = new grpc.Client(options.address, credentials(options.tls), {
      ...serverName(options.tls),
      // The channel's own reconnect backoff (grpc's default grows to 120 s) would otherwise
      // outlast ours and fail every attempt while the control plane is back.
      'grpc.initial_reconnect_backoff_ms': initialMs,
      'grpc.max_reconnect_backoff_ms': maxMs,
    });
    this.#ads = adsClient(this.#channel);
    this.#terminations =
      options.registry &&
      new Counter({
        name: 'istio_xds_connection_terminations_total',
        help: 'Total number of xDS stream terminations, by reason',
        labelNames: ['reason'],
        registers: [options.registry],
      });
  }

  /** Opens the stream; later failures reconnect by themselves until close(). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#connect();
  }

  /**
   * Resolves once a response of every type has been applied (ACKed); a rejected response does
   * not count. Rejects with XdsClientClosedError if the client is closed first.
   */
  whenSynced(): Promise<void> {
    if (this.#closed) return Promise.reject(new XdsClientClosedError(this.#options.address));
    if (this.#isSynced()) return Promise.resolve();
    return new Promise((resolve, reject) => this.#syncWaiters.push({ resolve, reject }));
  }

  /** The versions the client holds for one type: name → version. */
  versions(typeUrl: string): ReadonlyMap<string, string> {
    return this.#held.get(typeUrl) ?? new Map();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#retry);
    this.#stream?.cancel();
    this.#stream = undefined;
    this.#channel.close();
    for (const waiter of this.#syncWaiters.splice(0)) {
      waiter.reject(new XdsClientClosedError(this.#options.address));
    }
  }

  #connect(): void {
    const generation = ++this.#generation;
    this.#open(generation).catch((error: unknown) => {
      // The token source failed, or grpc refused to start the call: try again later.
      this.#logger.error({ err: error }, 'xDS stream could not be opened; retrying');
      this.#scheduleReconnect(generation);
    });
  }

  async #open(generation: number): Promise<void> {
    const { token: source } = this.#options;
    const token = typeof source === 'string' ? source : await source();
    if (this.#closed || generation !== this.#generation) return;
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${token}`);
    const stream = this.#ads.deltaAggregatedResources({ metadata });
    this.#stream = stream;
    stream.on('data', (response: DeltaDiscoveryResponse) => {
      this.#applying = this.#applying
        .then(() => this.#apply(generation, response))
        // #apply contains the handler's errors; anything else is a bug, logged so that the
        // chain keeps applying later responses.
        .catch((error: unknown) =>
          this.#logger.error({ err: error }, 'xDS response handling failed'),
        );
    });
    // Every end of a call is reported on 'status'; 'error' only repeats it for non-OK ones.
    stream.on('error', () => {});
    stream.on('status', (status: grpc.StatusObject) => this.#lost(generation, status));
    this.#options.typeUrls.forEach((typeUrl, index) => {
      stream.write(
        create(DeltaDiscoveryRequestSchema, {
          // Envoy's rule: the node goes on the first request of a stream only.
          node: index === 0 ? this.#options.node : undefined,
          typeUrl,
          // An empty first subscribe list is the (legacy) wildcard, which every server knows.
          resourceNamesSubscribe: [],
          initialResourceVersions: Object.fromEntries(this.#held.get(typeUrl) ?? []),
        }),
      );
    });
    this.#logger.debug({ types: this.#options.typeUrls }, 'xDS stream opened');
  }

  async #apply(generation: number, response: DeltaDiscoveryResponse): Promise<void> {
    if (this.#closed) return;
    const { typeUrl, nonce } = response;
    const held = this.#held.get(typeUrl);
    if (held === undefined) {
      this.#logger.warn(
        { type: typeUrl, nonce },
        'xDS response for a type not subscribed; ignored',
      );
      return;
    }
    if (generation === this.#generation) this.#backoff.reset();
    let errorMessage: string | undefined;
    try {
      const delta = toDelta(response);
      await this.#options.onResources(typeUrl, delta);
      for (const [name, update] of delta.upserts) held.set(name, update.version);
      for (const name of delta.removals) held.delete(name);
      this.#logger.debug(
        { type: typeUrl, nonce, upserts: delta.upserts.size, removals: delta.removals.length },
        'xDS response applied',
      );
    } catch (error) {
      errorMessage = error instanceof Error ? error.message : String(error);
      this.#logger.warn(
        { type: typeUrl, nonce, error: { code: errorCode(error), message: errorMessage } },
        'xDS response rejected',
      );
    }
    if (errorMessage === undefined) this.#markSynced(typeUrl);
    // The reply belongs to the stream the response came on; a newer stream starts afresh.
    if (generation !== this.#generation || this.#stream === undefined || this.#closed) return;
    this.#stream.write(
      create(DeltaDiscoveryRequestSchema, {
        typeUrl,
        responseNonce: nonce,
        errorDetail:
          errorMessage === undefined
            ? undefined
            : { code: grpc.status.INVALID_ARGUMENT, message: errorMessage },
      }),
    );
  }

  #lost(generation: number, status: grpc.StatusObject): void {
    if (this.#closed || generation !== this.#generation) return;
    this.#stream = undefined;
    const fields = { code: grpc.status[status.code], details: status.details };
    // ztunnel's reasons: a clean end, a connection that broke, or an error from the server.
    this.#terminations?.inc({
      reason:
        status.code === grpc.status.OK
          ? 'Complete'
          : status.code === grpc.status.UNAVAILABLE
            ? 'ConnectionError'
            : 'Error',
    });
    if (
      status.code === grpc.status.UNAUTHENTICATED ||
      status.code === grpc.status.PERMISSION_DENIED
    ) {
      this.#logger.error(fields, 'xDS stream refused by the control plane; retrying');
    } else {
      this.#logger.warn(fields, 'xDS stream ended; reconnecting');
    }
    this.#scheduleReconnect(generation);
  }

  #scheduleReconnect(generation: number): void {
    if (this.#closed || generation !== this.#generation) return;
    const delay = this.#backoff.next();
    this.#retry = setTimeout(() => this.#connect(), delay);
  }

  #markSynced(typeUrl: string): void {
    if (this.#synced.has(typeUrl)) return;
    this.#synced.add(typeUrl);
    if (!this.#isSynced()) return;
    this.#logger.info({ types: this.#options.typeUrls }, 'xDS synced');
    for (const waiter of this.#syncWaiters.splice(0)) waiter.resolve();
  }

  #isSynced(): boolean {
    return this.#options.typeUrls.every((typeUrl) => this.#synced.has(typeUrl));
  }
}

function adsClient(channel: grpc.Client) {
  return bindClient(AggregatedDiscoveryService, channel);
}

function toDelta(response: DeltaDiscoveryResponse): ResourceDelta {
  const upserts = new Map<string, ResourceUpdate>();
  for (const { name, version, resource } of response.resources) {
    if (resource === undefined) {
      throw new XdsResponseInvalidError(response.typeUrl, `resource ${name} has no body`);
    }
    upserts.set(name, { version, resource });
  }
  return { upserts, removals: response.removedResources };
}

function credentials(tls: XdsTlsOptions | 'insecure'): grpc.ChannelCredentials {
  if (tls === 'insecure') return grpc.credentials.createInsecure();
  const pem = (value: string | Buffer | undefined): Buffer | null =>
    value === undefined ? null : Buffer.from(value);
  return grpc.credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}

function serverName(tls: XdsTlsOptions | 'insecure'): grpc.ChannelOptions {
  if (tls === 'insecure' || tls.servername === undefined) return {};
  return {
    'grpc.ssl_target_name_override': tls.servername,
    'grpc.default_authority': tls.servername,
  };
}
