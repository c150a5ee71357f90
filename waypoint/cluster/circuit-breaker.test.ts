import t from 'tap';
import type { ConnectionPool } from '../../api/waypoint/config.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { POLICY } from './testing/fixtures.js';

const pool = (over: Partial<ConnectionPool>): ConnectionPool => ({
  ...POLICY.connectionPool,
  ...over,
});

t.test('overflow of pending requests is refused until one is released', async (t) => {
  const breaker = new CircuitBreaker(pool({ http1MaxPendingRequests: 2 }));
  t.ok(breaker.tryPending());
  t.ok(breaker.tryPending());
  t.notOk(breaker.tryPending(), 'the third waiting request overflows (503 UO)');
  breaker.releasePending();
  t.ok(breaker.tryPending());
});

t.test('requests in flight beyond http2MaxRequests are refused', async (t) => {
  const breaker = new CircuitBreaker(pool({ http2MaxRequests: 1 }));
  t.ok(breaker.tryRequest());
  t.notOk(breaker.tryRequest());
});

t.test('connections beyond maxConnections are refused', async (t) => {
  const breaker = new CircuitBreaker(pool({ maxConnections: 1 }));
  t.ok(breaker.tryConnection());
  t.notOk(breaker.tryConnection());
  breaker.releaseConnection();
  t.ok(breaker.tryConnection());
});

t.test('retries in flight beyond maxRetries are refused', async (t) => {
  const breaker = new CircuitBreaker(pool({ maxRetries: 1 }));
  t.ok(breaker.tryRetry());
  t.notOk(breaker.tryRetry());
  breaker.releaseRetry();
  t.same(breaker.counts(), { connections: 0, pending: 0, requests: 0, retries: 0 });
});

t.test('a limit of 0 is unlimited, as Istio leaves it unset', async (t) => {
  const breaker = new CircuitBreaker(pool({}));
  let granted = 0;
  for (let i = 0; i < 10_000; i++) if (breaker.tryRequest() && breaker.tryPending()) granted++;
  t.equal(granted, 10_000);
});

t.test('new limits apply to the requests already held', async (t) => {
  const breaker = new CircuitBreaker(pool({ http2MaxRequests: 5 }));
  for (let i = 0; i < 3; i++) breaker.tryRequest();
  breaker.setLimits(pool({ http2MaxRequests: 2 }));
  t.notOk(breaker.tryRequest(), '3 held, limit now 2');
  breaker.releaseRequest();
  breaker.releaseRequest();
  t.ok(breaker.tryRequest(), '1 held, limit 2');
});

t.test('a release without an acquire never makes room for more than the limit', async (t) => {
  const breaker = new CircuitBreaker(pool({ http2MaxRequests: 1 }));
  breaker.releaseRequest();
  t.ok(breaker.tryRequest());
  t.notOk(breaker.tryRequest());
});
