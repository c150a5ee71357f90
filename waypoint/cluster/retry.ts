import type { RetryPolicy } from '../../api/waypoint/config.js';
import { grpcStatus, type AttemptOutcome } from './attempt-outcome.js';

// gRPC status codes the retry-on tokens name.
const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_INTERNAL = 13;
const GRPC_UNAVAILABLE = 14;

const GRPC_TOKENS: Readonly<Record<string, number>> = {
  cancelled: GRPC_CANCELLED,
  'deadline-exceeded': GRPC_DEADLINE_EXCEEDED,
  'resource-exhausted': GRPC_RESOURCE_EXHAUSTED,
  internal: GRPC_INTERNAL,
  unavailable: GRPC_UNAVAILABLE,
};

const isGatewayError = (status: number): boolean => status >= 502 && status <= 504;

/**
 * Whether Envoy's retry policy would retry `outcome` (`RetryStateImpl::wouldRetryFromHeaders`
 * and `wouldRetryFromReset`), before counting attempts or retry budget:
 *
 * - a response carrying `x-envoy-ratelimited` is retried only on `envoy-ratelimited`;
 * - `5xx` any 5xx, `gateway-error` 502/503/504, `retriable-4xx` 409, `retriable-status-codes`
 *   the policy's codes (and bare codes among the tokens, as Istio writes them);
 * - `cancelled`, `deadline-exceeded`, `resource-exhausted`, `internal`, `unavailable`: the
 *   gRPC status in the response's `grpc-status`;
 * - a connect failure: `connect-failure`; any reset, refused stream or per-try timeout:
 *   `reset`, `5xx` or `gateway-error` (Envoy counts a reset as a 5xx); before any request
 *   byte went out also `reset-before-request`; a refused stream also `refused-stream`.
 *
 * Envoy never looks at the method: a POST is retried like a GET. `retriable-headers` has no
 * headers to match here (Istio cannot set them), so it retries nothing.
 */
export function shouldRetry(
  policy: RetryPolicy,
  outcome: AttemptOutcome,
  _method: string,
): boolean {
  const on = new Set(policy.retryOn.map((token) => token.trim()));
  if (outcome.kind === 'response') return wouldRetryResponse(policy, on, outcome);
  if (outcome.kind === 'connect-failure' && on.has('connect-failure')) return true;
  const requestSent =
    outcome.kind === 'connect-failure'
      ? false
      : outcome.kind === 'reset'
        ? outcome.requestSent !== false
        : true;
  if (!requestSent && on.has('reset-before-request')) return true;
  if (on.has('reset') || on.has('5xx') || on.has('gateway-error')) return true;
  return outcome.kind === 'refused-stream' && on.has('refused-stream');
}

function wouldRetryResponse(
  policy: RetryPolicy,
  on: ReadonlySet<string>,
  outcome: Extract<AttemptOutcome, { kind: 'response' }>,
): boolean {
  const { status, headers } = outcome;
  if (headers?.['x-envoy-ratelimited'] !== undefined) return on.has('envoy-ratelimited');
  if (on.has('5xx') && status >= 500 && status <= 599) return true;
  if (on.has('gateway-error') && isGatewayError(status)) return true;
  if (on.has('retriable-4xx') && status === 409) return true;
  if (on.has('retriable-status-codes') && policy.retriableStatusCodes.includes(status)) return true;
  // Istio turns bare codes among the tokens into retriable status codes.
  if (on.has(String(status))) return true;
  const grpc = grpcStatus(headers);
  if (grpc === undefined) return false;
  for (const [token, code] of Object.entries(GRPC_TOKENS)) {
    if (code === grpc && on.has(token)) return true;
  }
  return false;
}

/**
 * What to do after an attempt, in Envoy's order (`RetryStateImpl::shouldRetry`): not a
 * retriable outcome → `no-retry`; retries used up → `limit-exceeded` (response flag URX);
 * the cluster's retry breaker full → `overflow` (flag UO); else `retry`, which holds one
 * retry slot the caller releases (`breaker.releaseRetry()`) when that retry ends. A policy
 * with 0 attempts has no retry state at all in Istio, so it never says `limit-exceeded`.
 */
export function decideRetry(
  policy: RetryPolicy,
  outcome: AttemptOutcome,
  method: string,
  retriesDone: number,
  breaker: { tryRetry(): boolean },
): 'retry' | 'no-retry' | 'limit-exceeded' | 'overflow' {
  if (policy.attempts <= 0 || !shouldRetry(policy, outcome, method)) return 'no-retry';
  if (retriesDone >= policy.attempts) return 'limit-exceeded';
  return breaker.tryRetry() ? 'retry' : 'overflow';
}

/**
 * The wait before retry number `attempt` (1 for the first retry), Envoy's
 * `JitteredExponentialBackOffStrategy` with base `policy.backoffBaseMs` and max 10 × base:
 * the interval starts at base and doubles while below max / 2, then is max; the wait is
 * drawn uniformly from [0, interval). With 25 ms: [0,25), [0,50), [0,100), [0,200), [0,250).
 */
export function retryBackoffMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  // Envoy rounds a base below 1 ms up to 1 ms.
  const base = Math.max(1, Math.floor(policy.backoffBaseMs));
  const max = base * 10;
  const doublingLimit = Math.floor(max / 2);
  let interval = base;
  for (let n = 1; n < attempt; n++) interval = interval < doublingLimit ? interval * 2 : max;
  return Math.floor(random() * interval);
}
