import { errorCode, MeshError } from '../errors.js';
import type { Logger } from '../telemetry/log.js';
import { Counter, Gauge, type Registry } from '../telemetry/metrics.js';
import { Backoff } from '../xds/backoff.js';
import type { IssuedCredentials, WorkloadCredentials } from './credentials.js';
import type { Identity } from './spiffe.js';

// Holds the certificates of the workloads a node tunnel serves (DESIGN.md §1): fetched when a
// workload is first tracked, renewed at half-life, and on failure retried with backoff while
// the old certificate keeps serving until it expires, as Istio's ztunnel SecretManager does.

export interface SecretManagerOptions {
  /** Gets a fresh certificate; a CaClient's issue, impersonating. */
  issue: (identity: Identity) => Promise<IssuedCredentials>;
  logger: Logger;
  registry: Registry;
  /** Fraction of the lifetime after which a certificate is renewed, in (0, 1). */
  renewAt?: number;
  /** Delays between failed attempts for one identity (jittered, exponential). */
  backoff?: { initialMs?: number; maxMs?: number };
}

/** How an identity's certificate stands, as /config_dump shows it. */
export type CertificateState = 'ready' | 'pending' | 'renewing' | 'failed';

/** One identity in /config_dump: no keys, no PEM. */
export interface CertificateStatus {
  identity: Identity;
  /** ISO 8601; absent until a certificate has been issued. */
  notBefore?: string;
  notAfter?: string;
  state: CertificateState;
}

/** get() for an identity nobody tracks. */
export class CertificateNotTrackedError extends MeshError {
  readonly code = 'AMBIT_CERTIFICATE_NOT_TRACKED';
  constructor(readonly identity: Identity) {
    super(`no certificate is kept for ${identity}: it is not tracked`);
  }
}

/** There is no valid certificate for an identity: the last attempt failed (its `cause`). */
export class CertificateUnavailableError extends MeshError {
  readonly code = 'AMBIT_CERTIFICATE_UNAVAILABLE';
  constructor(
    readonly identity: Identity,
    options: { cause: unknown },
  ) {
    super(`no valid certificate for ${identity}`, options);
  }
}

/** The CA issued a certificate that had already expired when it arrived (clock skew). */
export class CertificateExpiredError extends MeshError {
  readonly code = 'AMBIT_CERTIFICATE_EXPIRED';
  constructor(
    readonly identity: Identity,
    readonly notAfter: Date,
  ) {
    super(`the certificate issued for ${identity} expired on arrival (${notAfter.toISOString()})`);
  }
}

interface Entry {
  readonly identity: Identity;
  refs: number;
  credentials: IssuedCredentials | undefined;
  /** The attempt in flight; get() callers share it. */
  fetching: Promise<IssuedCredentials> | undefined;
  /** Why the last attempt failed; cleared by a success. */
  lastError: unknown;
  /** The one timer of an identity: its renewal, or the retry after a failure. */
  timer: NodeJS.Timeout | undefined;
  readonly backoff: Backoff;
}

// setTimeout fires at once for delays past 2^31-1 ms (about 24.8 days); longer waits re-arm.
const MAX_TIMER_MS = 2 ** 31 - 1;

export class SecretManager {
  readonly #issue: (identity: Identity) => Promise<IssuedCredentials>;
  readonly #log: Logger;
  readonly #renewAt: number;
  readonly #backoff: { initialMs: number; maxMs: number };
  readonly #entries = new Map<Identity, Entry>();
  readonly #requests: Counter<'result'>;
  readonly #expiry: Gauge<'identity'>;
  #closed = false;

  constructor(options: SecretManagerOptions) {
    const renewAt = options.renewAt ?? 0.5;
    if (!(renewAt > 0 && renewAt < 1)) {
      throw new RangeError(`renewAt ${renewAt} is not a fraction of the lifetime in (0, 1)`);
    }
    this.#issue = options.issue;
    this.#log = options.logger;
    this.#renewAt = renewAt;
    this.#backoff = {
      initialMs: options.backoff?.initialMs ?? 500,
      maxMs: options.backoff?.maxMs ?? 30_000,
    };
    this.#requests = new Counter({
      name: 'ambit_certificate_requests_total',
      help: 'Workload certificate requests to the CA, by result',
      labelNames: ['result'],
      registers: [options.registry],
    });
    for (const result of ['success', 'failure']) this.#requests.inc({ result }, 0);
    this.#expiry = new Gauge({
      name: 'ambit_certificate_expiry_timestamp_seconds',
      help: 'When the certificate served for each workload identity expires (Unix time)',
      labelNames: ['identity'],
      registers: [options.registry],
    });
  }

  /** Counts one more user of `identity`; the first starts fetching its certificate. */
  track(identity: Identity): void {
    const entry = this.#entries.get(identity);
    if (entry !== undefined) {
      entry.refs++;
      return;
    }
    const created: Entry = {
      identity,
      refs: 1,
      credentials: undefined,
      fetching: undefined,
      lastError: undefined,
      timer: undefined,
      backoff: new Backoff(this.#backoff),
    };
    this.#entries.set(identity, created);
    this.#refresh(created);
  }

  /** Counts one user less; after the last, the certificate is forgotten and not renewed. */
  untrack(identity: Identity): void {
    const entry = this.#entries.get(identity);
    if (entry === undefined || --entry.refs > 0) return;
    clearTimeout(entry.timer);
    this.#entries.delete(identity);
    this.#expiry.remove({ identity });
  }

  /**
   * The valid certificate of a tracked identity, waiting for the attempt in flight if there
   * is none yet. Rejects with CertificateUnavailableError when the last attempt failed (a
   * retry is then already scheduled), CertificateNotTrackedError for an untracked identity.
   */
  async get(identity: Identity): Promise<WorkloadCredentials> {
    const entry = this.#entries.get(identity);
    if (entry === undefined) throw new CertificateNotTrackedError(identity);
    const valid = validCredentials(entry);
    if (valid !== undefined) return valid;
    if (entry.fetching !== undefined) return entry.fetching;
    if (entry.lastError !== undefined) {
      throw new CertificateUnavailableError(identity, { cause: entry.lastError });
    }
    // Expired while its renewal timer was late (a stalled event loop): fetch now.
    return this.#refresh(entry);
  }

  /** The valid certificate of `identity`, if one is held; for TLS handshakes, which cannot wait. */
  current(identity: Identity): WorkloadCredentials | undefined {
    const entry = this.#entries.get(identity);
    return entry === undefined ? undefined : validCredentials(entry);
  }

  /** Every tracked identity and its certificate's validity, sorted by identity. */
  certificates(): CertificateStatus[] {
    return [...this.#entries.values()]
      .sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0))
      .map((entry) => ({
        identity: entry.identity,
        ...(entry.credentials === undefined
          ? {}
          : {
              notBefore: entry.credentials.notBefore.toISOString(),
              notAfter: entry.credentials.notAfter.toISOString(),
            }),
        state: stateOf(entry),
      }));
  }

  /** Stops every renewal and retry; attempts in flight still settle for their callers. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#entries.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
    }
  }

  /** Starts an attempt for `entry`; its outcome updates the entry if it is still tracked. */
  #refresh(entry: Entry): Promise<IssuedCredentials> {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    const { identity } = entry;
    const live = (): boolean => this.#entries.get(identity) === entry;
    const attempt = this.#attempt(identity).then(
      (credentials) => {
        entry.fetching = undefined;
        this.#requests.inc({ result: 'success' });
        if (!live()) return credentials;
        entry.credentials = credentials;
        entry.lastError = undefined;
        entry.backoff.reset();
        this.#expiry.set({ identity }, credentials.notAfter.getTime() / 1000);
        const renewAt = this.#renewalTime(credentials);
        this.#log.info(
          {
            identity,
            notAfter: credentials.notAfter.toISOString(),
            renewAt: new Date(renewAt).toISOString(),
          },
          'workload certificate issued',
        );
        this.#wakeAt(entry, renewAt);
        return credentials;
      },
      (error: unknown) => {
        entry.fetching = undefined;
        this.#requests.inc({ result: 'failure' });
        if (live()) {
          entry.lastError = error;
          const retryInMs = entry.backoff.next();
          const serving = validCredentials(entry);
          this.#log.warn(
            {
              identity,
              error: { code: errorCode(error), message: messageOf(error) },
              retryInMs,
              servingUntil: serving?.notAfter.toISOString(),
            },
            'workload certificate request failed; retrying',
          );
          this.#wakeAt(entry, Date.now() + retryInMs);
        }
        throw new CertificateUnavailableError(identity, { cause: error });
      },
    );
    // Nobody may be waiting on a background attempt; its failure is handled above.
    attempt.catch(() => {});
    entry.fetching = attempt;
    return attempt;
  }

  async #attempt(identity: Identity): Promise<IssuedCredentials> {
    const credentials = await this.#issue(identity);
    if (credentials.notAfter.getTime() <= Date.now()) {
      throw new CertificateExpiredError(identity, credentials.notAfter);
    }
    return credentials;
  }

  /** When to renew: `renewAt` of the way through the certificate's lifetime. */
  #renewalTime(credentials: IssuedCredentials): number {
    const notBefore = credentials.notBefore.getTime();
    const notAfter = credentials.notAfter.getTime();
    const now = Date.now();
    const at = notBefore + this.#renewAt * (notAfter - notBefore);
    // A certificate already past that point (backdated far, or cut short by the CA) renews
    // the same fraction into what is left, never at once, so renewals cannot spin.
    return at > now ? at : now + this.#renewAt * (notAfter - now);
  }

  #wakeAt(entry: Entry, at: number): void {
    if (this.#closed) return;
    const delay = Math.min(Math.max(at - Date.now(), 0), MAX_TIMER_MS);
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (Date.now() < at) this.#wakeAt(entry, at);
      else this.#refresh(entry);
    }, delay);
    // Renewal alone must not keep a process alive.
    entry.timer.unref();
  }
}

function validCredentials(entry: Entry): IssuedCredentials | undefined {
  const { credentials } = entry;
  return credentials !== undefined && Date.now() < credentials.notAfter.getTime()
    ? credentials
    : undefined;
}

function stateOf(entry: Entry): CertificateState {
  const retrying = entry.lastError !== undefined;
  if (validCredentials(entry) !== undefined) {
    return entry.fetching !== undefined || retrying ? 'renewing' : 'ready';
  }
  return retrying && entry.fetching === undefined ? 'failed' : 'pending';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
