import { diff, type TypeSnapshot } from './snapshot.js';

// One client stream's interest in one type URL, and the delta protocol's bookkeeping for it:
// what the client asked for, what it holds (has ACKed), what is in flight, what it rejected.
// Pure: the stream handler feeds it requests and snapshots and sends what it plans.
//
// Rules (Envoy's delta xDS, with the choices the protocol leaves open made here):
// - An empty `resource_names_subscribe` on the first request of a type is a wildcard
//   subscription; `*` subscribes to the wildcard explicitly at any time, and unsubscribing `*`
//   ends it. Explicit names may be added and removed alongside.
// - At most one response per type is in flight. Changes that arrive meanwhile wait for the
//   client's ACK or NACK and then go out together, as a diff against what the client holds.
//   A client that never answers therefore only stalls itself.
// - ACK (the in-flight nonce, no error_detail): the client now holds what the response said.
// - NACK (the in-flight nonce with error_detail): the client rejected the whole response and
//   still holds what it held before. Every entry of the rejected response (name at version,
//   or name removed) is remembered and left out of later responses. The memory of a name ends
//   when a later response is planned while the name's state differs from the rejected one
//   (it changed again, was removed, or came back): from then on it flows as usual. Everything
//   else keeps flowing as a diff against what the client last ACKed.
// - A reply with any other nonce is stale: its ACK/NACK part is ignored, its subscription
//   changes still apply.
// - A reconnecting client's `initial_resource_versions` count as held, so its first response
//   carries only what differs: changed or new resources, and removals of names that are gone.
// - A name subscribed explicitly that does not exist is answered once in `removed_resources`,
//   as the protocol asks, so the client stops waiting for it.

export const WILDCARD = '*';

// Marks a rejected removal in the rejected map; a real version is never empty.
const REMOVED = '';

/** A response the stream is about to send; the subscription treats it as in flight. */
export interface PlannedResponse {
  readonly nonce: string;
  readonly typeUrl: string;
  readonly systemVersion: string;
  /** Names with the versions they are sent at; the bytes are in the snapshot. */
  readonly upserts: ReadonlyMap<string, string>;
  readonly removals: readonly string[];
}

/** What a request's response_nonce/error_detail meant. */
export type ReplyOutcome =
  | { readonly kind: 'ack'; readonly response: PlannedResponse }
  | { readonly kind: 'nack'; readonly response: PlannedResponse }
  | { readonly kind: 'stale' };

/**
 * Whether a client holds the current config of a type, as `istioctl proxy-status` says it:
 * SYNCED (it ACKed everything current), STALE (a response is unanswered, or it lacks or
 * rejected changes), NOT SENT (nothing sent yet).
 */
export type SyncStatus = 'SYNCED' | 'STALE' | 'NOT SENT';

export class Subscription {
  #wildcard: boolean;
  /** The snapshot version of the last response the client ACKed. */
  #ackedVersion: string | undefined;
  readonly #names = new Set<string>();
  /** What the client holds: name → version, from ACKs and initial_resource_versions. */
  readonly #acked = new Map<string, string>();
  /** Entries of NACKed responses: name → version rejected, or REMOVED. */
  readonly #rejected = new Map<string, string>();
  /** Explicitly subscribed names the client has not yet been told anything about. */
  readonly #unanswered = new Set<string>();
  #inFlight: PlannedResponse | undefined;
  /** The protocol owes a first response to a new subscription, even an empty one. */
  #owesFirstResponse = true;

  /** Starts a subscription from the first request of a type on a stream. */
  constructor(
    readonly typeUrl: string,
    first: {
      subscribe: readonly string[];
      unsubscribe?: readonly string[];
      initialVersions?: Readonly<Record<string, string>>;
    },
  ) {
    this.#wildcard = first.subscribe.length === 0;
    this.change(first.subscribe, first.unsubscribe ?? []);
    for (const [name, version] of Object.entries(first.initialVersions ?? {})) {
      if (this.wants(name)) {
        this.#acked.set(name, version);
        this.#unanswered.delete(name);
      }
    }
  }

  get wildcard(): boolean {
    return this.#wildcard;
  }

  /** Explicitly subscribed names (besides the wildcard). */
  get names(): ReadonlySet<string> {
    return this.#names;
  }

  /** What the client holds, as far as the server knows: name → version. */
  get acked(): ReadonlyMap<string, string> {
    return this.#acked;
  }

  get inFlight(): PlannedResponse | undefined {
    return this.#inFlight;
  }

  get ackedVersion(): string | undefined {
    return this.#ackedVersion;
  }

  /** How what the client holds compares with `snapshot` (see SyncStatus). */
  status(snapshot: TypeSnapshot | undefined): SyncStatus {
    if (snapshot === undefined || this.#owesFirstResponse) return 'NOT SENT';
    if (this.#inFlight !== undefined) return 'STALE';
    const changes = diff(this.#acked, snapshot.resources, (name) => this.wants(name));
    return changes.upserts.length + changes.removals.length === 0 ? 'SYNCED' : 'STALE';
  }

  wants(name: string): boolean {
    return this.#wildcard || this.#names.has(name);
  }

  /** Applies `resource_names_subscribe` / `resource_names_unsubscribe` of a later request. */
  change(subscribe: readonly string[], unsubscribe: readonly string[]): void {
    for (const name of subscribe) {
      if (name === WILDCARD) {
        this.#wildcard = true;
      } else if (!this.#names.has(name)) {
        this.#names.add(name);
        this.#unanswered.add(name);
      }
    }
    for (const name of unsubscribe) {
      if (name === WILDCARD) this.#wildcard = false;
      else this.#names.delete(name);
    }
    // The client forgets what it unsubscribed from (unless the wildcard still covers it).
    for (const name of [...this.#acked.keys()]) if (!this.wants(name)) this.#acked.delete(name);
    for (const name of [...this.#rejected.keys()])
      if (!this.wants(name)) this.#rejected.delete(name);
    for (const name of [...this.#unanswered]) if (!this.wants(name)) this.#unanswered.delete(name);
  }

  /** Interprets a request's `response_nonce` and `error_detail`. */
  reply(nonce: string, rejected: boolean): ReplyOutcome {
    const response = this.#inFlight;
    if (response === undefined || response.nonce !== nonce) return { kind: 'stale' };
    this.#inFlight = undefined;
    if (rejected) {
      for (const [name, version] of response.upserts) this.#rejected.set(name, version);
      for (const name of response.removals) this.#rejected.set(name, REMOVED);
      return { kind: 'nack', response };
    }
    this.#ackedVersion = response.systemVersion;
    for (const [name, version] of response.upserts) {
      // A name unsubscribed while the response was in flight is already forgotten.
      if (this.wants(name)) this.#acked.set(name, version);
      this.#rejected.delete(name);
    }
    for (const name of response.removals) {
      this.#acked.delete(name);
      this.#rejected.delete(name);
    }
    return { kind: 'ack', response };
  }

  /**
   * Plans the next response against `snapshot`, or returns undefined when there is nothing to
   * send, a response is still in flight, or the type has no snapshot yet. A planned response
   * is in flight until `reply` is called with its nonce.
   */
  plan(snapshot: TypeSnapshot | undefined, nonce: string): PlannedResponse | undefined {
    if (this.#inFlight !== undefined || snapshot === undefined) return undefined;
    const current = snapshot.resources;
    for (const [name, rejected] of this.#rejected) {
      if ((current.get(name)?.version ?? REMOVED) !== rejected) this.#rejected.delete(name);
    }
    const changes = diff(this.#acked, current, (name) => this.wants(name));
    const upserts = new Map<string, string>();
    for (const name of changes.upserts) {
      const version = current.get(name)?.version;
      if (version !== undefined && this.#rejected.get(name) !== version) upserts.set(name, version);
    }
    const removals = changes.removals.filter((name) => this.#rejected.get(name) !== REMOVED);
    for (const name of this.#unanswered) {
      if (!current.has(name) && !this.#acked.has(name) && this.#rejected.get(name) !== REMOVED) {
        removals.push(name);
      }
    }
    this.#unanswered.clear();
    if (upserts.size === 0 && removals.length === 0 && !this.#owesFirstResponse) return undefined;
    this.#owesFirstResponse = false;
    this.#inFlight = {
      nonce,
      typeUrl: this.typeUrl,
      systemVersion: snapshot.version,
      upserts,
      removals: removals.sort(),
    };
    return this.#inFlight;
  }
}
