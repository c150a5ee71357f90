/**
 * Retry policies as Istio writes them for Envoy (pilot/pkg/networking/core/route/retry):
 * without a `retries` block a route retries twice on connect-failure, refused-stream,
 * unavailable, cancelled and 503; `attempts: 0` turns retries off; a `retryOn` replaces the
 * conditions, its bare status codes becoming retriable status codes.
 */
import { durationMs } from '../../api/schema/index.js';
import type { HTTPRetry } from '../../api/resources/index.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../api/waypoint/config.js';
import { compact } from './compact.js';

/** Envoy's retry back-off base interval when none is set. */
export const DEFAULT_BACKOFF_MS = DEFAULT_RETRY_POLICY.backoffBaseMs;

const NO_RETRY: RetryPolicy = {
  attempts: 0,
  retryOn: [],
  retriableStatusCodes: [],
  backoffBaseMs: DEFAULT_BACKOFF_MS,
};

/** The codes Go's http.StatusText knows: Istio counts only these as status codes in retryOn. */
const KNOWN_STATUS = new Set([
  100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207, 208, 226, 300, 301, 302, 303, 304,
  305, 307, 308, 400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415,
  416, 417, 418, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451, 500, 501, 502, 503, 504, 505,
  506, 507, 508, 510, 511,
]);

/** Istio's parseRetryOn: comma-separated conditions, numbers that are status codes apart. */
function parseRetryOn(text: string): { retryOn: string[]; codes: number[] } {
  const retryOn: string[] = [];
  const codes: number[] = [];
  for (const raw of text.split(',')) {
    const part = raw.trim();
    if (part === '') continue;
    const code = /^[0-9]+$/.test(part) ? Number(part) : NaN;
    if (KNOWN_STATUS.has(code)) codes.push(code);
    else retryOn.push(part);
  }
  if (codes.length > 0 && !retryOn.includes('retriable-status-codes')) {
    retryOn.push('retriable-status-codes');
  }
  return { retryOn, codes };
}

function convert(
  attempts: number,
  retryOn: string | undefined,
  timing: {
    readonly perTryTimeoutMs?: number | undefined;
    readonly backoffMs?: number | undefined;
  },
): RetryPolicy {
  const conditions =
    retryOn === undefined
      ? { retryOn: DEFAULT_RETRY_POLICY.retryOn, codes: DEFAULT_RETRY_POLICY.retriableStatusCodes }
      : parseRetryOn(retryOn);
  return compact({
    attempts,
    perTryTimeoutMs: timing.perTryTimeoutMs,
    retryOn: [...conditions.retryOn],
    retriableStatusCodes: [...conditions.codes],
    backoffBaseMs: timing.backoffMs ?? DEFAULT_BACKOFF_MS,
  });
}

/** Istio's ConvertPolicy for a VirtualService route. */
export function retryPolicy(retries: HTTPRetry | undefined): RetryPolicy {
  if (retries === undefined) return DEFAULT_RETRY_POLICY;
  // An absent attempts is 0 in proto3, and 0 disables retries.
  if (!retries.attempts) return NO_RETRY;
  return convert(retries.attempts, retries.retryOn, {
    perTryTimeoutMs: retries.perTryTimeout && durationMs(retries.perTryTimeout),
    backoffMs: retries.backoff && durationMs(retries.backoff),
  });
}

/**
 * An HTTPRoute rule's `retry` (conversion.go): connection errors always, the listed codes,
 * 2 attempts unless set.
 */
export function gatewayRetryPolicy(
  retry: { readonly codes?: readonly number[] | undefined; readonly attempts?: number | undefined },
  timing: {
    readonly perTryTimeoutMs?: number | undefined;
    readonly backoffMs?: number | undefined;
  },
): RetryPolicy {
  const conditions = ['connect-failure', 'refused-stream', 'unavailable', 'cancelled'];
  return convert(retry.attempts ?? 2, [...conditions, ...(retry.codes ?? [])].join(','), timing);
}
