/**
 * JWT (RFC 7519, JWS compact form) verification with node:crypto, with the checks and the
 * failure texts of Envoy's jwt_authn filter (jwt_verify_lib `Status`), which is what a client
 * of an Istio waypoint reads in a 401 body: RS256/384/512, PS256/384/512, ES256/384/512;
 * `exp` and `nbf` with Envoy's 60 s clock skew; audiences when the rule lists any.
 */
import { verify as verifySignature, constants, type KeyObject } from 'node:crypto';
import type { VerificationKey } from './jwks.js';

/** Envoy's texts for the failures a waypoint can meet. */
export const JWT_FAILURE = {
  badFormat: 'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
  headerBadBase64: 'Jwt header is an invalid Base64url encoded',
  headerBadJson: 'Jwt header is an invalid JSON',
  headerBadAlg: 'Jwt header [alg] field is required and must be a string',
  algNotImplemented: 'Jwt header [alg] is not supported',
  headerBadKid: 'Jwt header [kid] field is not a string',
  payloadBadBase64: 'Jwt payload is an invalid Base64url encoded',
  payloadBadJson: 'Jwt payload is an invalid JSON',
  signatureBadBase64: 'Jwt signature is an invalid Base64url encoded',
  unknownIssuer: 'Jwt issuer is not configured',
  expired: 'Jwt is expired',
  notYetValid: 'Jwt not yet valid',
  audienceNotAllowed: 'Audiences in Jwt are not allowed',
  kidAlgMismatch: "Jwks doesn't have key to match kid or alg from Jwt",
  verificationFails: 'Jwt verification fails',
  jwksFetchFails: 'Jwks remote fetch is failed',
} as const;
export type JwtFailure = (typeof JWT_FAILURE)[keyof typeof JWT_FAILURE];

/** Envoy's default `clock_skew_seconds`. */
export const CLOCK_SKEW_SECONDS = 60;

/** A token split and parsed, not yet verified. */
export interface DecodedJwt {
  readonly alg: string;
  readonly kid: string | undefined;
  readonly payload: Readonly<Record<string, unknown>>;
  /** The payload segment as sent (base64url), for `outputPayloadToHeader`. */
  readonly payloadSegment: string;
  readonly signingInput: string;
  readonly signature: Buffer;
}

/** Who a verified token says the caller is: `request.auth.*` in policies. */
export interface JwtIdentity {
  /** `iss/sub`. */
  readonly principal: string;
  readonly audiences: readonly string[];
  /** `azp`. */
  readonly presenter: string | undefined;
  readonly claims: Readonly<Record<string, unknown>>;
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

function segmentJson(segment: string): Record<string, unknown> | 'base64' | 'json' {
  if (!BASE64URL.test(segment)) return 'base64';
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : 'json';
  } catch {
    return 'json';
  }
}

export function decodeJwt(token: string): DecodedJwt | JwtFailure {
  const parts = token.split('.');
  if (parts.length !== 3) return JWT_FAILURE.badFormat;
  const [headerSegment, payloadSegment, signatureSegment] = parts as [string, string, string];
  const header = segmentJson(headerSegment);
  if (header === 'base64') return JWT_FAILURE.headerBadBase64;
  if (header === 'json') return JWT_FAILURE.headerBadJson;
  if (typeof header.alg !== 'string') return JWT_FAILURE.headerBadAlg;
  if (header.kid !== undefined && typeof header.kid !== 'string') return JWT_FAILURE.headerBadKid;
  const payload = segmentJson(payloadSegment);
  if (payload === 'base64') return JWT_FAILURE.payloadBadBase64;
  if (payload === 'json') return JWT_FAILURE.payloadBadJson;
  if (!BASE64URL.test(signatureSegment)) return JWT_FAILURE.signatureBadBase64;
  return {
    alg: header.alg,
    kid: header.kid,
    payload,
    payloadSegment,
    signingInput: `${headerSegment}.${payloadSegment}`,
    signature: Buffer.from(signatureSegment, 'base64url'),
  };
}

interface Algorithm {
  readonly hash: string;
  readonly kind: 'RSA' | 'PSS' | 'EC';
  /** The named curve an EC key must be on. */
  readonly curve?: string;
}

const ALGORITHMS: Readonly<Record<string, Algorithm>> = {
  RS256: { hash: 'sha256', kind: 'RSA' },
  RS384: { hash: 'sha384', kind: 'RSA' },
  RS512: { hash: 'sha512', kind: 'RSA' },
  PS256: { hash: 'sha256', kind: 'PSS' },
  PS384: { hash: 'sha384', kind: 'PSS' },
  PS512: { hash: 'sha512', kind: 'PSS' },
  ES256: { hash: 'sha256', kind: 'EC', curve: 'prime256v1' },
  ES384: { hash: 'sha384', kind: 'EC', curve: 'secp384r1' },
  ES512: { hash: 'sha512', kind: 'EC', curve: 'secp521r1' },
};

function keyFits(key: KeyObject, algorithm: Algorithm): boolean {
  if (algorithm.kind === 'EC')
    return (
      key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === algorithm.curve
    );
  return key.asymmetricKeyType === 'rsa';
}

function signatureValid(token: DecodedJwt, algorithm: Algorithm, key: KeyObject): boolean {
  const data = Buffer.from(token.signingInput);
  try {
    switch (algorithm.kind) {
      case 'RSA':
        return verifySignature(algorithm.hash, data, key, token.signature);
      case 'PSS':
        return verifySignature(
          algorithm.hash,
          data,
          {
            key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_DIGEST,
          },
          token.signature,
        );
      case 'EC':
        return verifySignature(
          algorithm.hash,
          data,
          { key, dsaEncoding: 'ieee-p1363' },
          token.signature,
        );
    }
  } catch {
    return false;
  }
}

function audiencesOf(payload: Readonly<Record<string, unknown>>): string[] {
  const aud = payload.aud;
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud)) return aud.filter((a): a is string => typeof a === 'string');
  return [];
}

/**
 * Checks a decoded token against the keys and audiences of the rule for its issuer, at
 * `nowSeconds`. The caller has matched the issuer already.
 */
export function verifyJwt(
  token: DecodedJwt,
  keys: readonly VerificationKey[],
  audiences: readonly string[] | undefined,
  nowSeconds: number,
): JwtIdentity | JwtFailure {
  const algorithm = ALGORITHMS[token.alg];
  if (algorithm === undefined) return JWT_FAILURE.algNotImplemented;
  const { payload } = token;
  if (typeof payload.exp === 'number' && nowSeconds > payload.exp + CLOCK_SKEW_SECONDS)
    return JWT_FAILURE.expired;
  if (typeof payload.nbf === 'number' && nowSeconds + CLOCK_SKEW_SECONDS < payload.nbf)
    return JWT_FAILURE.notYetValid;
  const tokenAudiences = audiencesOf(payload);
  if (audiences !== undefined && audiences.length > 0) {
    if (!tokenAudiences.some((a) => audiences.includes(a))) return JWT_FAILURE.audienceNotAllowed;
  }
  const candidates = keys.filter(
    (k) =>
      (token.kid === undefined || k.kid === undefined || k.kid === token.kid) &&
      (k.alg === undefined || k.alg === token.alg) &&
      keyFits(k.key, algorithm),
  );
  if (candidates.length === 0) return JWT_FAILURE.kidAlgMismatch;
  if (!candidates.some((k) => signatureValid(token, algorithm, k.key)))
    return JWT_FAILURE.verificationFails;
  const iss = typeof payload.iss === 'string' ? payload.iss : '';
  const sub = typeof payload.sub === 'string' ? payload.sub : '';
  return {
    principal: `${iss}/${sub}`,
    audiences: tokenAudiences,
    presenter: typeof payload.azp === 'string' ? payload.azp : undefined,
    claims: payload,
  };
}
