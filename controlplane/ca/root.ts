import { randomBytes } from 'node:crypto';
import { generateKeyPair } from '../../core/identity/csr.js';
import type { TrustDomain } from '../../core/identity/spiffe.js';
import { ECDSA_SHA256, x509, type CryptoKeyPair } from '../../core/identity/x509.js';

/** Ten years, as Istio's self-signed root. */
export const DEFAULT_ROOT_TTL_MS = 10 * 365 * 24 * 60 * 60 * 1000;
const CLOCK_SKEW_MS = 60 * 1000;

export interface SelfSignedRoot {
  keys: CryptoKeyPair;
  certificate: x509.X509Certificate;
}

/**
 * A new ECDSA P-256 root for a trust domain. The organisation is the trust domain, as in
 * Istio's self-signed root, so `openssl x509 -subject` tells which mesh a root belongs to.
 */
export async function createSelfSignedRoot(options: {
  trustDomain: TrustDomain;
  ttlMs?: number;
  now?: Date;
}): Promise<SelfSignedRoot> {
  const keys = await generateKeyPair();
  const now = (options.now ?? new Date()).getTime();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex'),
    name: [{ O: [options.trustDomain] }, { CN: ['Ambit root CA'] }],
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + (options.ttlMs ?? DEFAULT_ROOT_TTL_MS)),
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign |
          x509.KeyUsageFlags.cRLSign |
          x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { keys, certificate };
}
