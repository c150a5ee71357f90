/**
 * JSON Web Key Sets (RFC 7517) as node:crypto public keys. Keys that are not public
 * signature keys Node can use (symmetric, private-only, unknown `kty`) are skipped, as
 * Envoy's jwt_verify_lib skips what it cannot load; a set with no usable key is an error.
 */
import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { MeshError } from '../../core/errors.js';

export interface VerificationKey {
  /** Absent: the key may verify a token with any `kid` (Envoy tries each such key). */
  readonly kid: string | undefined;
  /** Absent: any algorithm of the key's type. */
  readonly alg: string | undefined;
  readonly key: KeyObject;
}

export class JwksError extends MeshError {
  readonly code = 'AMBIT_JWKS_INVALID';
  constructor(source: string, reason: string, options?: { cause?: unknown }) {
    super(`JSON Web Key Set from ${source}: ${reason}`, options);
  }
}

/** The usable keys of a JWKS document; `source` names it in errors (a URI or the policy). */
export function parseJwks(text: string, source: string): VerificationKey[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new JwksError(source, 'not JSON', { cause });
  }
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw new JwksError(source, 'no "keys" array');
  const usable: VerificationKey[] = [];
  for (const jwk of keys as Record<string, unknown>[]) {
    if (jwk === null || typeof jwk !== 'object') continue;
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC') continue;
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    try {
      const key = createPublicKey({ key: publicPart(jwk) as JsonWebKey, format: 'jwk' });
      usable.push({
        kid: typeof jwk.kid === 'string' ? jwk.kid : undefined,
        alg: typeof jwk.alg === 'string' ? jwk.alg : undefined,
        key,
      });
    } catch {
      // Envoy skips a key it cannot load and uses the rest.
    }
  }
  if (usable.length === 0) throw new JwksError(source, 'no usable RSA or EC signature key');
  return usable;
}

/** Only the public members, so a set that also carries private parts still yields public keys. */
function publicPart(jwk: Record<string, unknown>): Record<string, unknown> {
  return jwk.kty === 'RSA'
    ? { kty: 'RSA', n: jwk.n, e: jwk.e }
    : { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y };
}
