/**
 * The keys of each JWT rule: an inline `jwks` parsed once, a `jwksUri` fetched over HTTP(S)
 * when first needed and refreshed in the background every 20 minutes (Istio's
 * PILOT_JWT_PUB_KEY_REFRESH_INTERVAL default) while the old keys keep serving. A failed first
 * fetch is retried no sooner than a second later, so a dead key server is not asked once per
 * request. Key material is never logged.
 */
import type { JwtRule } from '../../api/waypoint/config.js';
import type { Logger } from '../../core/telemetry/log.js';
import { parseJwks, type VerificationKey } from './jwks.js';

const REFRESH_MS = 20 * 60 * 1000;
const RETRY_MS = 1000;
const FETCH_TIMEOUT_MS = 5000;

interface RemoteKeys {
  keys: VerificationKey[] | undefined;
  fetchedAt: number;
  inflight: Promise<void> | undefined;
}

export interface JwksCacheOptions {
  readonly logger: Logger;
  /** Milliseconds; `performance.now` unless a test fixes it. */
  readonly now?: () => number;
  readonly fetch?: typeof fetch;
}

export class JwksCache {
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;
  readonly #inline = new Map<string, VerificationKey[] | undefined>();
  readonly #remote = new Map<string, RemoteKeys>();

  constructor(options: JwksCacheOptions) {
    this.#logger = options.logger;
    this.#now = options.now ?? (() => performance.now());
    this.#fetch = options.fetch ?? fetch;
  }

  /** The rule's keys; undefined when they cannot be had (Envoy: "Jwks remote fetch is failed"). */
  async keys(rule: JwtRule): Promise<readonly VerificationKey[] | undefined> {
    if (rule.jwks !== undefined) return this.#inlineKeys(rule);
    if (rule.jwksUri === undefined) return undefined;
    const uri = rule.jwksUri;
    let entry = this.#remote.get(uri);
    if (entry === undefined) {
      entry = { keys: undefined, fetchedAt: -Infinity, inflight: undefined };
      this.#remote.set(uri, entry);
    }
    const age = this.#now() - entry.fetchedAt;
    if (entry.keys === undefined) {
      if (age >= RETRY_MS) await this.#refresh(uri, entry);
      return entry.keys;
    }
    if (age >= REFRESH_MS) void this.#refresh(uri, entry);
    return entry.keys;
  }

  #inlineKeys(rule: JwtRule): VerificationKey[] | undefined {
    const text = rule.jwks!;
    if (!this.#inline.has(text)) {
      try {
        this.#inline.set(text, parseJwks(text, `RequestAuthentication ${rule.policy}`));
      } catch (err) {
        this.#logger.warn(
          { err, policy: rule.policy, issuer: rule.issuer },
          'inline jwks unusable',
        );
        this.#inline.set(text, undefined);
      }
    }
    return this.#inline.get(text);
  }

  #refresh(uri: string, entry: RemoteKeys): Promise<void> {
    entry.inflight ??= this.#fetchKeys(uri)
      .then(
        (keys) => {
          entry.keys = keys;
        },
        (err: unknown) => {
          this.#logger.warn({ err, jwksUri: uri }, 'jwks fetch failed');
        },
      )
      .finally(() => {
        entry.fetchedAt = this.#now();
        entry.inflight = undefined;
      });
    return entry.inflight;
  }

  async #fetchKeys(uri: string): Promise<VerificationKey[]> {
    const response = await this.#fetch(uri, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return parseJwks(await response.text(), uri);
  }
}
