import t from 'tap';
import type { RetryPolicy } from '../../api/waypoint/config.js';
import type { AttemptOutcome } from './attempt-outcome.js';
import { decideRetry, retryBackoffMs, shouldRetry } from './retry.js';

const policy = (retryOn: string, retriableStatusCodes: number[] = []): RetryPolicy => ({
  attempts: 2,
  retryOn: retryOn.split(','),
  retriableStatusCodes,
  backoffBaseMs: 25,
});

const response = (status: number, headers?: Record<string, string>): AttemptOutcome => ({
  kind: 'response',
  status,
  ...(headers && { headers }),
});
const grpc = (code: number) => response(200, { 'grpc-status': String(code) });
const CONNECT: AttemptOutcome = { kind: 'connect-failure' };
const RESET: AttemptOutcome = { kind: 'reset' };
const RESET_EARLY: AttemptOutcome = { kind: 'reset', requestSent: false };
const REFUSED: AttemptOutcome = { kind: 'refused-stream' };
const TIMEOUT: AttemptOutcome = { kind: 'timeout' };

// Each row: retryOn, outcomes retried, outcomes not retried (Envoy's retry_state_impl.cc).
const table: [string, AttemptOutcome[], AttemptOutcome[]][] = [
  [
    '5xx',
    [response(500), response(503), response(599), CONNECT, RESET, REFUSED, TIMEOUT],
    [response(404), response(409), grpc(14)],
  ],
  [
    'gateway-error',
    [response(502), response(503), response(504), CONNECT, RESET, REFUSED, TIMEOUT],
    [response(500), response(501)],
  ],
  ['reset', [CONNECT, RESET, REFUSED, TIMEOUT], [response(503)]],
  ['reset-before-request', [CONNECT, RESET_EARLY], [RESET, REFUSED, TIMEOUT, response(503)]],
  ['connect-failure', [CONNECT], [RESET, REFUSED, TIMEOUT, response(503)]],
  ['refused-stream', [REFUSED], [CONNECT, RESET, TIMEOUT, response(503)]],
  ['retriable-4xx', [response(409)], [response(400), response(429), response(503)]],
  ['cancelled', [grpc(1)], [grpc(14), response(499)]],
  ['deadline-exceeded', [grpc(4)], [grpc(1), TIMEOUT]],
  ['resource-exhausted', [grpc(8)], [grpc(14), response(429)]],
  ['internal', [grpc(13)], [grpc(2), response(500)]],
  ['unavailable', [grpc(14)], [grpc(13), response(503), CONNECT]],
  ['envoy-ratelimited', [response(429, { 'x-envoy-ratelimited': 'true' })], [response(429)]],
  ['retriable-headers', [], [response(503), RESET]],
];

for (const [retryOn, yes, no] of table) {
  t.test(`retryOn ${retryOn}`, async (t) => {
    for (const outcome of yes)
      t.ok(shouldRetry(policy(retryOn), outcome, 'GET'), `retries ${JSON.stringify(outcome)}`);
    for (const outcome of no)
      t.notOk(shouldRetry(policy(retryOn), outcome, 'GET'), `not ${JSON.stringify(outcome)}`);
  });
}

t.test('retriable-status-codes retries exactly the policy’s codes', async (t) => {
  const p = policy('retriable-status-codes', [503, 418]);
  t.ok(shouldRetry(p, response(418), 'GET'));
  t.ok(shouldRetry(p, response(503), 'GET'));
  t.notOk(shouldRetry(p, response(500), 'GET'));
  t.notOk(shouldRetry(policy('5xx', [418]), response(418), 'GET'), 'codes need the token');
});

t.test('a bare status code among the tokens is retried, as Istio allows in retryOn', async (t) => {
  t.ok(shouldRetry(policy('connect-failure,503'), response(503), 'GET'));
  t.notOk(shouldRetry(policy('connect-failure,503'), response(502), 'GET'));
});

t.test(
  'a rate-limited response is retried only on envoy-ratelimited, even under 5xx',
  async (t) => {
    t.notOk(shouldRetry(policy('5xx'), response(503, { 'x-envoy-ratelimited': 'true' }), 'GET'));
  },
);

t.test(
  'Istio’s default policy retries connect failures, refused streams, 503 and gRPC UNAVAILABLE/CANCELLED only',
  async (t) => {
    const p = policy(
      'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
      [503],
    );
    for (const outcome of [CONNECT, REFUSED, response(503), grpc(14), grpc(1)])
      t.ok(shouldRetry(p, outcome, 'GET'));
    for (const outcome of [RESET, TIMEOUT, response(500), response(502), grpc(13)])
      t.notOk(shouldRetry(p, outcome, 'GET'));
  },
);

t.test('the method does not matter: a POST is retried like a GET', async (t) => {
  t.ok(shouldRetry(policy('5xx'), response(503), 'POST'));
});

t.test(
  'decideRetry answers in Envoy’s order: no-retry, limit-exceeded (URX), overflow (UO), retry',
  async (t) => {
    const open = { tryRetry: () => true };
    const full = { tryRetry: () => false };
    const p = policy('5xx');
    t.equal(decideRetry(p, response(200), 'GET', 0, full), 'no-retry');
    t.equal(decideRetry(p, response(503), 'GET', 2, full), 'limit-exceeded');
    t.equal(decideRetry(p, response(503), 'GET', 1, full), 'overflow');
    t.equal(decideRetry(p, response(503), 'GET', 1, open), 'retry');
  },
);

t.test('a policy with 0 attempts never retries and never reports the limit exceeded', async (t) => {
  t.equal(
    decideRetry({ ...policy('5xx'), attempts: 0 }, response(503), 'GET', 0, {
      tryRetry: () => true,
    }),
    'no-retry',
  );
});

t.test('retry backoff: full jitter over 25, 50, 100, 200 ms, then the 250 ms cap', async (t) => {
  const p = policy('5xx');
  const top = () => 0.999999;
  t.same(
    [1, 2, 3, 4, 5, 6].map((n) => retryBackoffMs(p, n, top)),
    [24, 49, 99, 199, 249, 249],
  );
  t.same(
    [1, 2, 6].map((n) => retryBackoffMs(p, n, () => 0)),
    [0, 0, 0],
  );
});

t.test('retry backoff doubles only while below half the cap, then jumps to the cap', async (t) => {
  // Base 40, cap 400, doubling limit 200: 40, 80, 160, 320 (160 < 200), then 400.
  const p = { ...policy('5xx'), backoffBaseMs: 40 };
  t.same(
    [1, 2, 3, 4, 5].map((n) => retryBackoffMs(p, n, () => 0.999999)),
    [39, 79, 159, 319, 399],
  );
});
