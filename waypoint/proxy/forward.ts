import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RetryPolicy } from '../../api/waypoint/config.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { AttemptOutcome } from '../cluster/attempt-outcome.js';
import type { ClusterState } from '../cluster/cluster-state.js';
import type { EndpointKey, EndpointState } from '../cluster/endpoint-state.js';
import { decideRetry, retryBackoffMs } from '../cluster/retry.js';
import { sendAttempt, type Attempt, type AttemptResult, type UpstreamRequest } from './attempt.js';
import type { RequestBody } from './body.js';
import type { Downstream } from './downstream.js';
import type { ResponseFlag } from './flags.js';
import { endToEndHeaders, type HeaderMap } from './headers.js';
import {
  NO_HEALTHY_UPSTREAM,
  replyLocally,
  UPSTREAM_TIMEOUT,
  upstreamResetBody,
} from './local-reply.js';
import { addFlag, type RequestRecord } from './record.js';
import type { Upstreams } from './upstreams.js';

const OVERLOADED: Readonly<Record<string, string>> = { 'x-envoy-overloaded': 'true' };

/** Everything routing decided about where and how a request goes upstream. */
export interface ForwardPlan {
  readonly cluster: ClusterState;
  readonly request: UpstreamRequest;
  /** The body to send (and keep for retries), or undefined for a request without one. */
  readonly body: RequestBody | undefined;
  readonly retries: RetryPolicy;
  /** The route timeout, from the start of forwarding to the end of the response. */
  readonly timeoutMs: number | undefined;
  readonly hashKey: string | undefined;
  /** Shapes the response head (header operations, CORS, cookies) before it goes out. */
  readonly decorateResponse: (headers: HeaderMap) => void;
}

export interface ForwardContext {
  readonly upstreams: Upstreams;
  readonly random: () => number;
  readonly logger: Logger;
}

/**
 * Sends the request upstream as Envoy's router does: pick a host (other than those already
 * tried), respect the circuit breakers, retry what the policy says with jittered backoff,
 * enforce per-try and route timeouts, report every attempt to outlier detection, and pass
 * the first response that is not retried downstream. Resolves when the exchange is over.
 */
export function forward(
  plan: ForwardPlan,
  downstream: Downstream,
  record: RequestRecord,
  context: ForwardContext,
): Promise<void> {
  return new Forwarding(plan, downstream, record, context).run();
}

class Forwarding {
  readonly #plan: ForwardPlan;
  readonly #downstream: Downstream;
  readonly #record: RequestRecord;
  readonly #context: ForwardContext;
  /** Cancels a backoff wait when the route times out or the client goes. */
  readonly #cancel = new AbortController();
  readonly #tried = new Set<EndpointKey>();
  #current: Attempt | undefined;
  /** What to call it if the current exchange is broken off: a timeout (UT) or not. */
  #breakFlag: ResponseFlag | undefined;
  #routeTimedOut = false;
  #gone = false;
  /** A retry slot of the circuit breaker, held by the attempt about to run. */
  #retryHeld = false;
  #attemptRetry = false;

  constructor(
    plan: ForwardPlan,
    downstream: Downstream,
    record: RequestRecord,
    context: ForwardContext,
  ) {
    this.#plan = plan;
    this.#downstream = downstream;
    this.#record = record;
    this.#context = context;
  }

  async run(): Promise<void> {
    const { timeoutMs } = this.#plan;
    const timer = timeoutMs === undefined ? undefined : setTimeout(this.#onRouteTimeout, timeoutMs);
    this.#downstream.onAbort(this.#onDownstreamAbort);
    try {
      await this.#attempts();
    } finally {
      clearTimeout(timer);
      if (this.#retryHeld) this.#plan.cluster.breaker.releaseRetry();
      this.#retryHeld = false;
    }
  }

  async #attempts(): Promise<void> {
    const { cluster, retries } = this.#plan;
    for (let retriesDone = 0; ; retriesDone++) {
      if (retriesDone > 0) {
        const wait = retryBackoffMs(retries, retriesDone, this.#context.random);
        await sleep(wait, undefined, { signal: this.#cancel.signal }).catch(() => undefined);
        if (this.#gone) return;
        if (this.#routeTimedOut) {
          this.#reply(504, UPSTREAM_TIMEOUT);
          return;
        }
      }
      const host = cluster.pick({
        ...(this.#plan.hashKey === undefined ? {} : { hashKey: this.#plan.hashKey }),
        exclude: this.#tried,
      });
      if (host === undefined) {
        this.#reply(503, NO_HEALTHY_UPSTREAM, 'UH');
        return;
      }
      if ((await this.#attempt(host, retriesDone)) === 'done') return;
    }
  }

  /** One attempt on `host`, to its end: 'retry' when another attempt should follow. */
  async #attempt(host: EndpointState, retriesDone: number): Promise<'done' | 'retry'> {
    const { cluster, body } = this.#plan;
    const { breaker } = cluster;
    // The retry slot the previous decision took belongs to this attempt until this attempt's
    // own outcome is decided (Envoy's RetryState gives it back before deciding again).
    this.#attemptRetry = this.#retryHeld;
    this.#retryHeld = false;
    if (!breaker.tryRequest()) {
      this.#releaseAttemptRetry();
      this.#reply(503, upstreamResetBody('overflow', retriesDone > 0), 'UO');
      return 'done';
    }
    const agent = this.#context.upstreams.agent(cluster.cluster, host.endpoint);
    // A request that cannot have an idle connection at once waits for one: Envoy counts it
    // as pending, and a full pending queue is an overflow.
    let pending = !agent.hasIdleConnection();
    if (pending && !breaker.tryPending()) {
      breaker.releaseRequest();
      this.#releaseAttemptRetry();
      this.#reply(503, upstreamResetBody('overflow', retriesDone > 0), 'UO');
      return 'done';
    }
    const releasePending = (): void => {
      if (pending) breaker.releasePending();
      pending = false;
    };
    host.active++;
    this.#record.attempts++;
    this.#record.endpoint = host.key;
    this.#record.upstream = host.endpoint;
    this.#breakFlag = undefined;
    const started = performance.now();
    const attempt = sendAttempt({
      agent,
      request: this.#plan.request,
      body,
      onConnected: releasePending,
    });
    this.#current = attempt;
    const perTryMs = this.#plan.retries.perTryTimeoutMs;
    const perTry =
      perTryMs === undefined
        ? undefined
        : setTimeout(() => {
            this.#breakFlag = 'UT';
            attempt.abort({ kind: 'timeout' });
          }, perTryMs);
    try {
      const result = await attempt.result;
      if (result.kind === 'failed') return this.#failed(host, result, retriesDone);
      this.#record.upstreamMs = performance.now() - started;
      return await this.#responded(host, attempt, result.response, result.outcome, retriesDone);
    } finally {
      clearTimeout(perTry);
      this.#current = undefined;
      host.active--;
      breaker.releaseRequest();
      releasePending();
      this.#releaseAttemptRetry();
    }
  }

  #failed(
    host: EndpointState,
    result: Extract<AttemptResult, { kind: 'failed' }>,
    retriesDone: number,
  ): 'done' | 'retry' {
    this.#plan.body?.detach();
    if (this.#gone) return 'done';
    const { outcome } = result;
    this.#report(host, outcome);
    this.#tried.add(host.key);
    this.#context.logger.debug(
      { endpoint: host.key, outcome: outcome.kind, err: result.error },
      'upstream attempt failed',
    );
    if (this.#routeTimedOut) {
      this.#reply(504, UPSTREAM_TIMEOUT);
      return 'done';
    }
    if (this.#decide(outcome, retriesDone) === 'retry') return 'retry';
    const retried = retriesDone > 0;
    switch (outcome.kind) {
      case 'connect-failure':
        this.#reply(503, upstreamResetBody('connection failure', retried), 'UF');
        break;
      case 'timeout':
        this.#reply(504, UPSTREAM_TIMEOUT, 'UT');
        break;
      default:
        this.#reply(503, upstreamResetBody('connection termination', retried), 'UC');
    }
    return 'done';
  }

  async #responded(
    host: EndpointState,
    attempt: Attempt,
    response: IncomingMessage,
    outcome: Extract<AttemptOutcome, { kind: 'response' }>,
    retriesDone: number,
  ): Promise<'done' | 'retry'> {
    this.#report(host, outcome);
    if (this.#gone) {
      attempt.request.destroy();
      return 'done';
    }
    if (this.#decide(outcome, retriesDone) === 'retry') {
      // Envoy resets an upstream stream whose response it retries; on HTTP/1.1 that closes
      // the connection.
      this.#tried.add(host.key);
      this.#plan.body?.detach();
      response.resume();
      attempt.request.destroy();
      return 'retry';
    }
    await this.#pass(response);
    return 'done';
  }

  /** Streams the response downstream until it ends, or breaks both sides off. */
  #pass(response: IncomingMessage): Promise<void> {
    const status = response.statusCode ?? 502;
    const headers = endToEndHeaders(response.headersDistinct);
    this.#plan.decorateResponse(headers);
    this.#record.status = status;
    const grpcStatus = response.headers['grpc-status'];
    if (typeof grpcStatus === 'string') this.#record.grpcStatus = grpcStatus;
    const writable = this.#downstream.startResponse(status, headers);
    response.on('data', this.#countResponseBytes);
    return new Promise((resolve) => {
      writable.once('finish', () => resolve());
      response.once('close', () => {
        if (response.complete) return;
        if (!this.#gone) {
          addFlag(this.#record, this.#breakFlag ?? 'UC');
          this.#downstream.reset();
        }
        resolve();
      });
      this.#downstream.onAbort(() => resolve());
      response.pipe(writable);
    });
  }

  #report(host: EndpointState, outcome: AttemptOutcome): void {
    const { cluster } = this.#plan;
    if (cluster.report(host, outcome))
      this.#context.logger.info(
        { cluster: cluster.cluster.name, endpoint: host.key },
        'endpoint ejected by outlier detection',
      );
  }

  #decide(
    outcome: AttemptOutcome,
    retriesDone: number,
  ): 'retry' | 'no-retry' | 'limit-exceeded' | 'overflow' {
    const { body, retries, cluster, request } = this.#plan;
    if (this.#gone || this.#routeTimedOut) return 'no-retry';
    // A body too large to keep cannot be sent again (Envoy: retry buffer overflow).
    if (body !== undefined && !body.replayable) return 'no-retry';
    this.#releaseAttemptRetry();
    const decision = decideRetry(retries, outcome, request.method, retriesDone, cluster.breaker);
    if (decision === 'limit-exceeded') addFlag(this.#record, 'URX');
    if (decision === 'overflow') addFlag(this.#record, 'UO');
    if (decision === 'retry') this.#retryHeld = true;
    return decision;
  }

  #releaseAttemptRetry(): void {
    if (this.#attemptRetry) this.#plan.cluster.breaker.releaseRetry();
    this.#attemptRetry = false;
  }

  #reply(status: number, body: string, flag?: ResponseFlag): void {
    if (flag !== undefined) addFlag(this.#record, flag);
    // Envoy marks a circuit-breaker overflow so clients can tell it from an upstream 503.
    const headers = flag === 'UO' ? OVERLOADED : undefined;
    replyLocally(this.#downstream, this.#record, status, body, headers);
  }

  /** Only a length added per chunk: the bytes themselves are piped. */
  readonly #countResponseBytes = (chunk: Buffer): void => {
    this.#record.responseBytes += chunk.length;
  };

  readonly #onRouteTimeout = (): void => {
    this.#routeTimedOut = true;
    addFlag(this.#record, 'UT');
    this.#breakFlag = 'UT';
    this.#cancel.abort();
    this.#current?.abort({ kind: 'timeout' });
  };

  readonly #onDownstreamAbort = (): void => {
    this.#gone = true;
    addFlag(this.#record, 'DC');
    this.#cancel.abort();
    this.#current?.abort({ kind: 'reset' });
  };
}
