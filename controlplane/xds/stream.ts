import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import {
  DeltaDiscoveryResponseSchema,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
} from '../../api/gen/envoy/service/discovery/v3/discovery_pb.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { Caller } from '../auth/authenticator.js';
import type { XdsMetrics } from './metrics.js';
import type { SnapshotCache } from './snapshot.js';
import { Subscription, type PlannedResponse, type SyncStatus } from './subscription.js';
import { visibleTo } from './visibility.js';

// One client's Delta ADS stream: feeds its requests to a Subscription per type URL and writes
// the responses those plan. A fault here (a bad request, a write after the peer left) ends
// this stream at most; the server and every other stream carry on.

export type DeltaCall = grpc.ServerDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

/** A connected client, for /debug: who it is and what it holds per type. */
export interface XdsClientInfo {
  /** Node id from the client's first request (Envoy's `node.id`). */
  readonly nodeId: string | undefined;
  readonly identity: string;
  readonly peer: string;
  readonly connectedAt: string;
  readonly types: readonly XdsSubscriptionInfo[];
}

export interface XdsSubscriptionInfo {
  readonly typeUrl: string;
  readonly wildcard: boolean;
  readonly names: number;
  /** How many resources the client has ACKed (or declared on reconnect). */
  readonly acked: number;
  readonly inFlightNonce: string | undefined;
  /** The snapshot version of the last response the client ACKed. */
  readonly ackedVersion: string | undefined;
  /** Against the current snapshot: SYNCED, STALE or NOT SENT. */
  readonly status: SyncStatus;
}

export interface StreamContext {
  readonly logger: Logger;
  readonly metrics: XdsMetrics;
  readonly cache: SnapshotCache;
  readonly nonce: () => string;
  /** Called once when the stream is over, however it ended. */
  readonly onClosed: (stream: XdsStream) => void;
}

/** Enough names to find the culprit in a log line without logging a whole snapshot. */
function sample(names: readonly string[]): { count: number; first: readonly string[] } {
  return { count: names.length, first: names.slice(0, 10) };
}

export class XdsStream {
  readonly #call: DeltaCall;
  readonly #context: StreamContext;
  readonly #subscriptions = new Map<string, Subscription>();
  /** Per type: when the oldest change or request not yet answered arrived (performance.now()). */
  readonly #waitingSince = new Map<string, number>();
  readonly #connectedAt = new Date();
  /** Read once: after the connection is gone grpc-js can no longer tell. */
  readonly #peer: string;
  #nodeId: string | undefined;
  #logger: Logger;
  #closed = false;

  constructor(
    call: DeltaCall,
    readonly caller: Caller,
    context: StreamContext,
  ) {
    this.#call = call;
    this.#context = context;
    this.#peer = call.getPeer();
    this.#logger = context.logger.child({ identity: caller.identity, peer: this.#peer });
    call.on('data', (request: DeltaDiscoveryRequest) => this.#receive(request));
    call.on('end', () => this.end());
    call.on('error', (error: unknown) => {
      this.#logger.warn({ err: error }, 'xDS stream failed');
      this.#close();
    });
    for (const event of ['cancelled', 'finish', 'close']) call.on(event, () => this.#close());
  }

  get nodeId(): string | undefined {
    return this.#nodeId;
  }

  /** Tells the stream that the snapshot of `typeUrl` changed at `changedAt`. */
  notify(typeUrl: string, changedAt: number): void {
    if (this.#closed || !this.#subscriptions.has(typeUrl)) return;
    const since = this.#waitingSince.get(typeUrl);
    if (since === undefined || changedAt < since) this.#waitingSince.set(typeUrl, changedAt);
    this.#send(typeUrl);
  }

  /** Ends the stream with status OK; the client reconnects (to this or another server). */
  end(): void {
    if (this.#closed) return;
    this.#call.end();
    this.#close();
  }

  info(): XdsClientInfo {
    return {
      nodeId: this.#nodeId,
      identity: this.caller.identity,
      peer: this.#peer,
      connectedAt: this.#connectedAt.toISOString(),
      types: [...this.#subscriptions.values()].map((subscription) => ({
        typeUrl: subscription.typeUrl,
        wildcard: subscription.wildcard,
        names: subscription.names.size,
        acked: subscription.acked.size,
        inFlightNonce: subscription.inFlight?.nonce,
        ackedVersion: subscription.ackedVersion,
        status: subscription.status(this.#context.cache.get(subscription.typeUrl)),
      })),
    };
  }

  #receive(request: DeltaDiscoveryRequest): void {
    if (this.#closed) return;
    try {
      this.#handle(request);
    } catch (error) {
      // A bug, not a client fault: end this stream loudly and keep the server up.
      this.#logger.error({ err: error }, 'xDS request handling failed');
      this.#call.emit('error', {
        code: grpc.status.INTERNAL,
        details: 'internal error handling the request',
      });
    }
  }

  #handle(request: DeltaDiscoveryRequest): void {
    const { metrics } = this.#context;
    if (this.#nodeId === undefined && request.node !== undefined && request.node.id !== '') {
      this.#nodeId = request.node.id;
      this.#logger = this.#logger.child({ node: this.#nodeId });
      this.#logger.info('xDS client connected');
    }
    const typeUrl = request.typeUrl;
    if (typeUrl === '') {
      metrics.badRequests.inc({ reason: 'missing_type_url' });
      this.#logger.warn('xDS request without type_url ignored');
      return;
    }
    let subscription = this.#subscriptions.get(typeUrl);
    if (subscription === undefined) {
      if (request.responseNonce !== '') this.#stale(typeUrl, request.responseNonce);
      subscription = new Subscription(typeUrl, {
        subscribe: request.resourceNamesSubscribe,
        unsubscribe: request.resourceNamesUnsubscribe,
        initialVersions: request.initialResourceVersions,
      });
      this.#subscriptions.set(typeUrl, subscription);
      this.#waitingSince.set(typeUrl, performance.now());
      this.#logger.debug(
        {
          type: typeUrl,
          wildcard: subscription.wildcard,
          names: subscription.names.size,
          held: subscription.acked.size,
        },
        'xDS subscription started',
      );
      if (this.#context.cache.get(typeUrl) === undefined) {
        this.#logger.info({ type: typeUrl }, 'xDS subscription to a type with no resources yet');
      }
    } else {
      if (request.responseNonce !== '') this.#reply(subscription, request);
      const changed =
        request.resourceNamesSubscribe.length > 0 || request.resourceNamesUnsubscribe.length > 0;
      subscription.change(request.resourceNamesSubscribe, request.resourceNamesUnsubscribe);
      if (changed && !this.#waitingSince.has(typeUrl)) {
        this.#waitingSince.set(typeUrl, performance.now());
      }
    }
    this.#send(typeUrl);
  }

  #reply(subscription: Subscription, request: DeltaDiscoveryRequest): void {
    const typeUrl = subscription.typeUrl;
    const nonce = request.responseNonce;
    const outcome = subscription.reply(nonce, request.errorDetail !== undefined);
    switch (outcome.kind) {
      case 'stale':
        this.#stale(typeUrl, nonce);
        return;
      case 'ack':
        this.#logger.debug(
          { type: typeUrl, nonce, version: outcome.response.systemVersion },
          'xDS response acknowledged',
        );
        return;
      case 'nack':
        this.#context.metrics.nacks.inc({ type: typeUrl });
        this.#logger.warn(
          {
            type: typeUrl,
            nonce,
            version: outcome.response.systemVersion,
            resources: sample([...outcome.response.upserts.keys()]),
            removed: sample(outcome.response.removals),
            error: {
              code: request.errorDetail?.code,
              message: request.errorDetail?.message,
            },
          },
          'xDS response rejected by client; it keeps its last good version',
        );
        return;
    }
  }

  #stale(typeUrl: string, nonce: string): void {
    this.#context.metrics.badRequests.inc({ reason: 'stale_nonce' });
    this.#logger.debug({ type: typeUrl, nonce }, 'xDS reply with a stale nonce ignored');
  }

  #send(typeUrl: string): void {
    const subscription = this.#subscriptions.get(typeUrl);
    if (subscription === undefined || this.#closed) return;
    const snapshot = visibleTo(this.caller, this.#context.cache.get(typeUrl));
    const planned = subscription.plan(snapshot, this.#context.nonce());
    if (planned === undefined || snapshot === undefined) {
      // Nothing to say; unless a response is in flight, nothing is waiting either.
      if (subscription.inFlight === undefined) this.#waitingSince.delete(typeUrl);
      return;
    }
    this.#call.write(this.#response(planned, snapshot.resources));
    const { metrics } = this.#context;
    metrics.pushes.inc({ type: typeUrl });
    const since = this.#waitingSince.get(typeUrl);
    if (since !== undefined) {
      metrics.pushDuration.observe({ type: typeUrl }, (performance.now() - since) / 1000);
    }
    this.#waitingSince.delete(typeUrl);
    this.#logger.debug(
      {
        type: typeUrl,
        nonce: planned.nonce,
        version: planned.systemVersion,
        upserts: planned.upserts.size,
        removals: planned.removals.length,
      },
      'xDS response sent',
    );
  }

  #response(
    planned: PlannedResponse,
    resources: ReadonlyMap<string, { readonly bytes: Uint8Array }>,
  ): DeltaDiscoveryResponse {
    return create(DeltaDiscoveryResponseSchema, {
      typeUrl: planned.typeUrl,
      systemVersionInfo: planned.systemVersion,
      nonce: planned.nonce,
      removedResources: [...planned.removals],
      resources: [...planned.upserts].map(([name, version]) => ({
        name,
        version,
        resource: {
          typeUrl: planned.typeUrl,
          value: resources.get(name)?.bytes ?? new Uint8Array(),
        },
      })),
    });
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#logger.info('xDS client disconnected');
    this.#context.onClosed(this);
  }
}
