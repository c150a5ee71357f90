import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import type { JwtRule } from '../../api/waypoint/config.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { authenticate } from './authenticate.js';
import { JwksCache } from './jwks-cache.js';
import { jwksOf, nowSeconds, signingKey, signToken } from './testing/tokens.js';
import { JWT_FAILURE } from './verify.js';

const ISSUER = 'https://issuer.example';
const key = signingKey('RS256', 'k1');
const rule: JwtRule = {
  policy: 'demo/jwt',
  issuer: ISSUER,
  jwks: jwksOf(key),
  forwardOriginalToken: false,
};
const cache = new JwksCache({ logger: silentLogger() });
const keysFor = (r: JwtRule) => cache.keys(r);
const token = signToken(key, {
  iss: ISSUER,
  sub: 'alice',
  exp: nowSeconds() + 600,
  team: { name: 'mesh' },
});

const run = (
  rules: JwtRule[],
  headers: Record<string, string | string[] | undefined>,
  query = '',
) => authenticate(rules, headers, query, keysFor, nowSeconds());

t.test('no token passes anonymously', async (t) => {
  t.same(await run([rule], {}), { kind: 'anonymous' });
  t.same(await run([rule], { authorization: 'Basic abc' }), { kind: 'anonymous' });
});

t.test('a Bearer token verifies and is removed before going upstream', async (t) => {
  const headers: Record<string, string | undefined> = { authorization: `Bearer ${token}` };
  const result = await run([rule], headers);
  t.equal(result.kind, 'verified');
  t.equal(result.kind === 'verified' && result.identity.principal, `${ISSUER}/alice`);
  t.notOk('authorization' in headers);
});

t.test('forwardOriginalToken keeps it; payload and claims go to headers', async (t) => {
  const headers: Record<string, string | undefined> = { authorization: `Bearer ${token}` };
  await run(
    [
      {
        ...rule,
        forwardOriginalToken: true,
        outputPayloadToHeader: 'X-Jwt-Payload',
        outputClaimToHeaders: [
          { header: 'x-sub', claim: 'sub' },
          { header: 'x-team', claim: 'team.name' },
        ],
      },
    ],
    headers,
  );
  t.equal(headers.authorization, `Bearer ${token}`);
  t.equal(headers['x-jwt-payload'], token.split('.')[1]);
  t.equal(headers['x-sub'], 'alice');
  t.equal(headers['x-team'], 'mesh');
});

t.test('the access_token query parameter is a default location', async (t) => {
  const result = await run([rule], {}, `a=1&access_token=${token}`);
  t.equal(result.kind, 'verified');
});

t.test('fromHeaders and fromParams replace the defaults', async (t) => {
  const custom = { ...rule, fromHeaders: [{ name: 'x-token', prefix: 'Tok ' }], fromParams: ['t'] };
  t.equal((await run([custom], { 'x-token': `Tok ${token}` })).kind, 'verified');
  t.equal((await run([custom], {}, `t=${token}`)).kind, 'verified');
  t.same(await run([custom], { authorization: `Bearer ${token}` }), { kind: 'anonymous' });
});

t.test('invalid tokens fail with Envoy texts', async (t) => {
  t.same(await run([rule], { authorization: 'Bearer not-a-jwt' }), {
    kind: 'failed',
    message: JWT_FAILURE.badFormat,
  });
  const stranger = signToken(key, { iss: 'https://other', sub: 'x' });
  t.same(await run([rule], { authorization: `Bearer ${stranger}` }), {
    kind: 'failed',
    message: JWT_FAILURE.unknownIssuer,
  });
  const expired = signToken(key, { iss: ISSUER, sub: 'x', exp: nowSeconds() - 3600 });
  t.same(await run([rule], { authorization: `Bearer ${expired}` }), {
    kind: 'failed',
    message: JWT_FAILURE.expired,
  });
});

t.test('keys come from jwksUri, fetched once and cached', async (t) => {
  let served = 0;
  const server = createServer((_req, res) => {
    served++;
    res.setHeader('content-type', 'application/json');
    res.end(jwksOf(key));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const { port } = server.address() as AddressInfo;
  const remote: JwtRule = {
    policy: 'demo/jwt',
    issuer: ISSUER,
    jwksUri: `http://127.0.0.1:${port}/jwks`,
    forwardOriginalToken: false,
  };
  const remoteCache = new JwksCache({ logger: silentLogger() });
  for (let i = 0; i < 3; i++) {
    const result = await authenticate(
      [remote],
      { authorization: `Bearer ${token}` },
      '',
      (r) => remoteCache.keys(r),
      nowSeconds(),
    );
    t.equal(result.kind, 'verified');
  }
  t.equal(served, 1);
});

t.test('an unreachable jwksUri fails the request, and is not asked again at once', async (t) => {
  let asked = 0;
  const failing = new JwksCache({
    logger: silentLogger(),
    fetch: () => {
      asked++;
      return Promise.reject(new Error('refused'));
    },
  });
  const remote: JwtRule = {
    policy: 'demo/jwt',
    issuer: ISSUER,
    jwksUri: 'http://192.0.2.1/jwks',
    forwardOriginalToken: false,
  };
  for (let i = 0; i < 2; i++) {
    const result = await authenticate(
      [remote],
      { authorization: `Bearer ${token}` },
      '',
      (r) => failing.keys(r),
      nowSeconds(),
    );
    t.same(result, { kind: 'failed', message: JWT_FAILURE.jwksFetchFails });
  }
  t.equal(asked, 1);
});
