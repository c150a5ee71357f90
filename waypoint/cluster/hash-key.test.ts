import t from 'tap';
import type { LoadBalancer } from '../../api/waypoint/config.js';
import { hashKeyFor, type HashableRequest } from './hash-key.js';

function request(over: Partial<HashableRequest> = {}): HashableRequest {
  return {
    method: 'GET',
    path: '/reviews/1',
    authority: 'reviews:9080',
    headers: {},
    sourceAddress: '10.1.0.7',
    ...over,
  };
}

const byCookie = (ttlMs?: number, path?: string): LoadBalancer => ({
  kind: 'CONSISTENT_HASH',
  hashOn: {
    cookie: { name: 'session', ...(ttlMs !== undefined && { ttlMs }), ...(path && { path }) },
  },
});

t.test('only CONSISTENT_HASH has a hash key', async (t) => {
  t.equal(
    hashKeyFor({ kind: 'LEAST_REQUEST' }, request({ headers: { 'x-user': 'a' } })),
    undefined,
  );
});

t.test(
  'a header policy hashes the header value, whatever case the policy names it in',
  async (t) => {
    const policy: LoadBalancer = { kind: 'CONSISTENT_HASH', hashOn: { header: 'X-User' } };
    t.same(hashKeyFor(policy, request({ headers: { 'x-user': 'alice' } })), { key: 'alice' });
    t.equal(hashKeyFor(policy, request()), undefined, 'no header: no key, the pick is random');
  },
);

t.test('repeated header values hash the same in any order (Envoy sorts them)', async (t) => {
  const policy: LoadBalancer = { kind: 'CONSISTENT_HASH', hashOn: { header: 'x-tag' } };
  t.same(
    hashKeyFor(policy, request({ headers: { 'x-tag': ['b', 'a'] } })),
    hashKeyFor(policy, request({ headers: { 'x-tag': ['a', 'b'] } })),
  );
});

t.test('a header policy on :authority or host hashes the request authority', async (t) => {
  const policy: LoadBalancer = { kind: 'CONSISTENT_HASH', hashOn: { header: 'host' } };
  t.same(hashKeyFor(policy, request()), { key: 'reviews:9080' });
});

t.test('a source IP policy hashes the source workload address', async (t) => {
  t.same(hashKeyFor({ kind: 'CONSISTENT_HASH', hashOn: { sourceIp: true } }, request()), {
    key: '10.1.0.7',
  });
});

t.test('a query parameter policy hashes the first raw value of that parameter', async (t) => {
  const policy: LoadBalancer = { kind: 'CONSISTENT_HASH', hashOn: { queryParameter: 'user' } };
  t.same(hashKeyFor(policy, request({ path: '/r?x=1&user=a%20b&user=c' })), { key: 'a%20b' });
  t.same(hashKeyFor(policy, request({ path: '/r?user' })), { key: '' });
  t.equal(hashKeyFor(policy, request({ path: '/r?users=x' })), undefined);
});

t.test('a cookie policy hashes the cookie value without its quotes', async (t) => {
  const headers = { cookie: 'theme=dark; session="abc123"' };
  t.same(hashKeyFor(byCookie(60_000), request({ headers })), { key: 'abc123' });
});

t.test('a cookie policy with a TTL makes the cookie when the request has none', async (t) => {
  const made = hashKeyFor(byCookie(3_600_000, '/'), request());
  t.match(made, { key: /^[0-9a-f]{16}$/ });
  t.equal(made?.setCookie, `session="${made?.key}"; Max-Age=3600; Path=/; HttpOnly`);
  // The client's next request, carrying the cookie, hashes to the same key.
  const next = hashKeyFor(
    byCookie(3_600_000, '/'),
    request({ headers: { cookie: made!.setCookie!.split(';')[0]! } }),
  );
  t.same(next, { key: made?.key });
});

t.test('a TTL under one second makes a session cookie (no Max-Age)', async (t) => {
  t.equal(hashKeyFor(byCookie(0), request())?.setCookie?.includes('Max-Age'), false);
  t.equal(hashKeyFor(byCookie(999), request())?.setCookie?.includes('Max-Age'), false);
});

t.test('a cookie policy without a TTL and without the cookie has no key', async (t) => {
  t.equal(hashKeyFor(byCookie(), request({ headers: { cookie: 'session=' } })), undefined);
});
