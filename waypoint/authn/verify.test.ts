import t from 'tap';
import { parseJwks, JwksError } from './jwks.js';
import { jwksOf, signingKey, signToken } from './testing/tokens.js';
import { decodeJwt, JWT_FAILURE, verifyJwt, type DecodedJwt } from './verify.js';

const NOW = 1_800_000_000;
const ISSUER = 'https://issuer.example';
const rsa = signingKey('RS256', 'rsa-1');
const ec = signingKey('ES256', 'ec-1');
const pss = signingKey('PS256', 'pss-1');
const es384 = signingKey('ES384', 'ec-384');
const keys = parseJwks(jwksOf(rsa, ec, pss, es384), 'test');
const claims = { iss: ISSUER, sub: 'alice', aud: 'api', exp: NOW + 3600, azp: 'cli' };

function decoded(token: string): DecodedJwt {
  const d = decodeJwt(token);
  if (typeof d === 'string') throw new Error(d);
  return d;
}

t.test('RS256, ES256, PS256 and ES384 tokens verify; the principal is iss/sub', async (t) => {
  for (const key of [rsa, ec, pss, es384]) {
    const result = verifyJwt(decoded(signToken(key, claims)), keys, undefined, NOW);
    t.same(
      result,
      { principal: `${ISSUER}/alice`, audiences: ['api'], presenter: 'cli', claims },
      key.alg,
    );
  }
});

t.test('a bad signature fails verification', async (t) => {
  const token = signToken(rsa, claims);
  const forged = `${token.split('.').slice(0, 2).join('.')}.${signToken(rsa, { ...claims, sub: 'x' }).split('.')[2]}`;
  t.equal(verifyJwt(decoded(forged), keys, undefined, NOW), JWT_FAILURE.verificationFails);
  const other = signingKey('RS256', 'rsa-1');
  t.equal(
    verifyJwt(decoded(signToken(other, claims)), keys, undefined, NOW),
    JWT_FAILURE.verificationFails,
    'same kid, another key',
  );
});

t.test('an unknown kid or an algorithm the key does not fit has no key', async (t) => {
  t.equal(
    verifyJwt(decoded(signToken(rsa, claims, { kid: 'nope' })), keys, undefined, NOW),
    JWT_FAILURE.kidAlgMismatch,
  );
  t.equal(
    verifyJwt(decoded(signToken(rsa, claims, { kid: 'ec-1' })), keys, undefined, NOW),
    JWT_FAILURE.kidAlgMismatch,
  );
  t.equal(
    verifyJwt(decoded(signToken(rsa, claims, { alg: 'HS256' })), keys, undefined, NOW),
    JWT_FAILURE.algNotImplemented,
  );
  t.equal(
    verifyJwt(decoded(signToken(rsa, claims, { alg: 'none' })), keys, undefined, NOW),
    JWT_FAILURE.algNotImplemented,
  );
});

t.test('exp and nbf with 60 s of clock skew', async (t) => {
  const at = (extra: Record<string, unknown>) =>
    verifyJwt(decoded(signToken(rsa, { ...claims, ...extra })), keys, undefined, NOW);
  t.equal(at({ exp: NOW - 61 }), JWT_FAILURE.expired);
  t.type(at({ exp: NOW - 59 }), 'object');
  t.equal(at({ nbf: NOW + 61 }), JWT_FAILURE.notYetValid);
  t.type(at({ nbf: NOW + 59 }), 'object');
});

t.test('audiences must intersect when the rule lists any', async (t) => {
  const token = decoded(signToken(rsa, { ...claims, aud: ['web', 'api'] }));
  t.type(verifyJwt(token, keys, ['api'], NOW), 'object');
  t.equal(verifyJwt(token, keys, ['other'], NOW), JWT_FAILURE.audienceNotAllowed);
  const noAud = decoded(signToken(rsa, { iss: ISSUER, sub: 'a' }));
  t.equal(verifyJwt(noAud, keys, ['api'], NOW), JWT_FAILURE.audienceNotAllowed);
});

t.test('malformed tokens are refused with Envoy texts', async (t) => {
  t.equal(decodeJwt('abc'), JWT_FAILURE.badFormat);
  t.equal(decodeJwt('a.b.c.d'), JWT_FAILURE.badFormat);
  t.equal(decodeJwt('###.e30.sig'), JWT_FAILURE.headerBadBase64);
  t.equal(decodeJwt('bm90anNvbg.e30.sig'), JWT_FAILURE.headerBadJson);
  t.equal(
    decodeJwt(`${Buffer.from('{}').toString('base64url')}.e30.sig`),
    JWT_FAILURE.headerBadAlg,
  );
  const head = Buffer.from('{"alg":"RS256"}').toString('base64url');
  t.equal(decodeJwt(`${head}.bm90anNvbg.sig`), JWT_FAILURE.payloadBadJson);
  t.equal(decodeJwt(`${head}.e30.s!g`), JWT_FAILURE.signatureBadBase64);
});

t.test('a JWKS without usable keys is an error naming its source', async (t) => {
  t.throws(() => parseJwks('nope', 'https://keys'), JwksError);
  t.throws(() => parseJwks('{"keys":[{"kty":"oct","k":"abc"}]}', 'https://keys'), {
    code: 'AMBIT_JWKS_INVALID',
    message: /https:\/\/keys/,
  });
});
