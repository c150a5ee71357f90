import { randomBytes } from 'node:crypto';
import { certificatePem } from '../certificate.js';
import type { IssuedCredentials } from '../credentials.js';
import { generateKeyPair } from '../csr.js';
import { exportPrivateKeyPem } from '../keys.js';
import {
  DEFAULT_TRUST_DOMAIN,
  parseTrustDomain,
  type Identity,
  type TrustDomain,
} from '../spiffe.js';
import { ECDSA_SHA256, x509 } from '../x509.js';

// A throwaway CA for tests that need real workload certificates (HBONE, secret rotation):
// ECDSA P-256, leaves shaped as the mesh CA shapes them. Not used outside tests.

const HOUR_MS = 60 * 60 * 1000;
const CLOCK_SKEW_MS = 60 * 1000;

export interface IssueOptions {
  /** Defaults to a minute ago. */
  notBefore?: Date;
  /** Defaults to an hour from now; a date in the past makes an expired certificate. */
  notAfter?: Date;
}

export interface TestCa {
  readonly trustDomain: TrustDomain;
  /** PEM of the self-signed root, the trust bundle workloads of this CA verify peers with. */
  readonly roots: string;
  /** A fresh key and a leaf whose only SAN is `identity`; the chain is [leaf, root]. */
  issue(identity: Identity, options?: IssueOptions): Promise<IssuedCredentials>;
}

/** A new root for `trustDomain` (cluster.local by default); each call is a different CA. */
export async function createTestCa(trustDomain: string = DEFAULT_TRUST_DOMAIN): Promise<TestCa> {
  const domain = parseTrustDomain(trustDomain);
  const caKeys = await generateKeyPair();
  const now = Date.now();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ O: [domain] }, { CN: ['Ambit test CA'] }],
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + 24 * HOUR_MS),
    keys: caKeys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const rootPem = certificatePem(root);
  const rootKeyId = await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey);

  return {
    trustDomain: domain,
    roots: rootPem,
    async issue(identity, options = {}) {
      const keys = await generateKeyPair();
      const issued = Date.now();
      const notAfter = options.notAfter ?? new Date(issued + HOUR_MS);
      // An expired certificate asked for by notAfter alone still starts before it ends.
      const notBefore =
        options.notBefore ??
        new Date(Math.min(issued - CLOCK_SKEW_MS, notAfter.getTime() - HOUR_MS));
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serialNumber(),
        issuer: root.subjectName,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: ECDSA_SHA256,
        extensions: [
          // Empty subject, so the SAN is critical (SPIFFE X.509-SVID §4).
          new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identity }], true),
          new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
            true,
          ),
          new x509.ExtendedKeyUsageExtension([
            x509.ExtendedKeyUsage.serverAuth,
            x509.ExtendedKeyUsage.clientAuth,
          ]),
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.AuthorityKeyIdentifierExtension(rootKeyId.keyId),
        ],
      });
      return {
        identity,
        chain: [certificatePem(leaf), rootPem],
        key: await exportPrivateKeyPem(keys.privateKey),
        roots: rootPem,
        notBefore,
        notAfter,
      };
    },
  };
}

// 16 random bytes with the top bit clear: a positive, unique serial (RFC 5280 §4.1.2.2).
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}
