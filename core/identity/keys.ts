import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { MeshError } from '../errors.js';
import { encodePem } from './pem.js';
import { ECDSA_P256, subtle, type CryptoKey } from './x509.js';

export class InvalidKeyError extends MeshError {
  readonly code = 'AMBIT_INVALID_KEY';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid private key: ${reason}`, options);
  }
}

/** A P-256 signing key read from PEM, and its public half to match against certificates. */
export interface SigningKey {
  privateKey: CryptoKey;
  publicKey: KeyObject;
}

/** The private key as PKCS#8 PEM (`PRIVATE KEY`), the form node:tls and openssl read. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return encodePem(await subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/**
 * Reads an ECDSA P-256 private key in PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) PEM;
 * openssl writes either, and Istio's plug-in CA files are often SEC1. Any other key type is
 * refused rather than signed with, since the whole mesh is P-256.
 */
export async function importPrivateKeyPem(pem: string): Promise<SigningKey> {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new InvalidKeyError('it does not parse as an unencrypted PEM private key', {
      cause: err,
    });
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== 'prime256v1') {
    const shape = key.asymmetricKeyType === 'ec' ? `EC ${curve}` : `${key.asymmetricKeyType}`;
    throw new InvalidKeyError(`it is a ${shape} key; want ECDSA P-256`);
  }
  const pkcs8 = key.export({ format: 'der', type: 'pkcs8' });
  const privateKey = await subtle.importKey('pkcs8', pkcs8, ECDSA_P256, true, ['sign']);
  return { privateKey, publicKey: createPublicKey(key) };
}

/** Whether a certificate's public key (DER SubjectPublicKeyInfo) is the half of `key`. */
export function keyMatchesPublicKey(key: SigningKey, spki: ArrayBuffer | Uint8Array): boolean {
  try {
    const other = createPublicKey({
      key: Buffer.from(new Uint8Array(spki)),
      format: 'der',
      type: 'spki',
    });
    return key.publicKey.equals(other);
  } catch {
    return false;
  }
}
