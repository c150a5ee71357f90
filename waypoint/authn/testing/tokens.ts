/**
 * Signing keys and tokens for tests: an RSA or EC key pair, its JWKS, and compact JWS
 * tokens signed with it, all with node:crypto.
 */
import { generateKeyPairSync, sign, constants, type KeyObject } from 'node:crypto';

export interface SigningKey {
  readonly kid: string;
  readonly alg: 'RS256' | 'RS384' | 'RS512' | 'PS256' | 'ES256' | 'ES384';
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function signingKey(alg: SigningKey['alg'], kid: string): SigningKey {
  const pair = alg.startsWith('ES')
    ? generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : 'P-384' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, alg, ...pair };
}

/** The JWKS text publishing these keys. */
export function jwksOf(...keys: SigningKey[]): string {
  return JSON.stringify({
    keys: keys.map((k) => ({
      ...k.publicKey.export({ format: 'jwk' }),
      kid: k.kid,
      alg: k.alg,
      use: 'sig',
    })),
  });
}

const HASH = {
  RS256: 'sha256',
  RS384: 'sha384',
  RS512: 'sha512',
  PS256: 'sha256',
  ES256: 'sha256',
  ES384: 'sha384',
} as const;

/** A signed token; `header` overrides go into the JOSE header (e.g. a different `kid`). */
export function signToken(
  key: SigningKey,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): string {
  const head = Buffer.from(
    JSON.stringify({ alg: key.alg, typ: 'JWT', kid: key.kid, ...header }),
  ).toString('base64url');
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const input = Buffer.from(`${head}.${body}`);
  const signature = key.alg.startsWith('ES')
    ? sign(HASH[key.alg], input, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
    : key.alg.startsWith('PS')
      ? sign(HASH[key.alg], input, {
          key: key.privateKey,
          padding: constants.RSA_PKCS1_PSS_PADDING,
          saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
        })
      : sign(HASH[key.alg], input, key.privateKey);
  return `${head}.${body}.${signature.toString('base64url')}`;
}

/** Seconds since the epoch, as JWT claims count time. */
export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
