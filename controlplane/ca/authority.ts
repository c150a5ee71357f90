import { randomBytes } from 'node:crypto';
import { MeshError } from '../../core/errors.js';
import { certificatePem } from '../../core/identity/certificate.js';
import { verifyCsr } from '../../core/identity/csr.js';
import type { Identity } from '../../core/identity/spiffe.js';
import { ECDSA_SHA256, x509, type CryptoKey } from '../../core/identity/x509.js';

/** What a CA signs with, as the store loads it. */
export interface CaMaterial {
  signingKey: CryptoKey;
  /**
   * The signing certificate first, then each issuer up to and including the root. For a
   * self-signed CA that is the root alone.
   */
  chain: x509.X509Certificate[];
  /** Every root the mesh trusts (the trust bundle); includes the chain's root. */
  roots: x509.X509Certificate[];
}

export interface CertificateAuthorityOptions {
  /** Longest leaf lifetime handed out, whatever was asked (default 24 h). */
  maxTtlMs?: number;
  /** Lifetime when the caller asks for none (default 24 h, Istio's workload cert TTL). */
  defaultTtlMs?: number;
  /** The clock, for tests that pin validity dates. */
  now?: () => Date;
}

/** The CSR asks for names other than exactly the identity being issued. */
export class CsrIdentityMismatchError extends MeshError {
  readonly code = 'AMBIT_CSR_IDENTITY_MISMATCH';
  constructor(
    readonly identity: Identity,
    readonly requested: string[],
  ) {
    super(
      `the CSR asks for [${requested.join(', ')}]; its only SAN must be ${identity} ` +
        `(the identity being issued)`,
    );
  }
}

export interface ServingCertificateRequest {
  publicKey: x509.PublicKey | CryptoKey;
  dnsNames: string[];
  ipAddresses: string[];
  ttlMs: number;
}

const HOUR_MS = 60 * 60 * 1000;
export const DEFAULT_MAX_TTL_MS = 24 * HOUR_MS;
export const DEFAULT_TTL_MS = 24 * HOUR_MS;
// Peers whose clocks run a little behind must still accept a certificate issued just now.
const CLOCK_SKEW_MS = 60 * 1000;

/**
 * Signs workload certificates with one CA key. Pure apart from the clock and randomness: it
 * does not authenticate anyone; the caller decides which identity a request may have.
 */
export class CertificateAuthority {
  readonly maxTtlMs: number;
  readonly defaultTtlMs: number;
  private readonly signingKey: CryptoKey;
  private readonly signingCert: x509.X509Certificate;
  private readonly chainPems: string[];
  private readonly rootPems: string[];
  private readonly now: () => Date;
  private authorityKeyId: Promise<string> | undefined;

  constructor(material: CaMaterial, options: CertificateAuthorityOptions = {}) {
    const [signingCert] = material.chain;
    if (signingCert === undefined) throw new TypeError('CaMaterial.chain is empty');
    this.signingKey = material.signingKey;
    this.signingCert = signingCert;
    this.chainPems = material.chain.map(certificatePem);
    this.rootPems = material.roots.map(certificatePem);
    this.maxTtlMs = options.maxTtlMs ?? DEFAULT_MAX_TTL_MS;
    this.defaultTtlMs = Math.min(options.defaultTtlMs ?? DEFAULT_TTL_MS, this.maxTtlMs);
    this.now = options.now ?? (() => new Date());
  }

  /** The trust bundle: each root as PEM. */
  roots(): string[] {
    return [...this.rootPems];
  }

  /** The lifetime a request gets: the requested one capped by the maximum, or the default. */
  ttlFor(requestedMs: number | undefined): number {
    if (requestedMs === undefined || !(requestedMs > 0)) return this.defaultTtlMs;
    return Math.min(requestedMs, this.maxTtlMs);
  }

  /**
   * Verifies the CSR and signs a workload certificate for `identity`. The CSR's SANs must be
   * that identity alone. Returns PEMs, the leaf first and the root last.
   */
  async sign(request: { csrPem: string; identity: Identity; ttlMs?: number }): Promise<string[]> {
    const csr = await verifyCsr(request.csrPem);
    const requested = [...csr.uris, ...csr.dnsNames, ...csr.ipAddresses, ...csr.otherNames];
    if (requested.length !== 1 || csr.uris[0] !== request.identity) {
      throw new CsrIdentityMismatchError(request.identity, requested);
    }
    const leaf = await this.issue({
      publicKey: csr.publicKey,
      names: [{ type: 'url', value: request.identity }],
      ttlMs: this.ttlFor(request.ttlMs),
      usages: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    });
    return [certificatePem(leaf), ...this.chainPems];
  }

  /** A TLS server certificate for the control plane itself; the chain as in sign(). */
  async issueServing(request: ServingCertificateRequest): Promise<string[]> {
    const leaf = await this.issue({
      publicKey: request.publicKey,
      names: [
        ...request.dnsNames.map((value) => ({ type: 'dns' as const, value })),
        ...request.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ],
      ttlMs: request.ttlMs,
      usages: [x509.ExtendedKeyUsage.serverAuth],
    });
    return [certificatePem(leaf), ...this.chainPems];
  }

  private async issue(leaf: {
    publicKey: x509.PublicKey | CryptoKey;
    names: x509.JsonGeneralNames;
    ttlMs: number;
    usages: string[];
  }): Promise<x509.X509Certificate> {
    const now = this.now().getTime();
    // A leaf never outlives the certificate that signs it: peers would reject the chain.
    const notAfter = Math.min(now + leaf.ttlMs, this.signingCert.notAfter.getTime());
    return x509.X509CertificateGenerator.create({
      // 16 random bytes: unpredictable and unique without a counter (RFC 5280 §4.1.2.2).
      serialNumber: randomBytes(16).toString('hex'),
      issuer: this.signingCert.subjectName,
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: new Date(notAfter),
      publicKey: leaf.publicKey,
      signingKey: this.signingKey,
      signingAlgorithm: ECDSA_SHA256,
      extensions: [
        // The subject is empty, so the SAN must be critical (RFC 5280 §4.2.1.6, SPIFFE X.509-SVID §4).
        new x509.SubjectAlternativeNameExtension(leaf.names, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
        new x509.ExtendedKeyUsageExtension(leaf.usages),
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.AuthorityKeyIdentifierExtension(await this.signingKeyId()),
        await x509.SubjectKeyIdentifierExtension.create(leaf.publicKey),
      ],
    });
  }

  /** The signing certificate's key id, so path builders match AKI to its SKI. */
  private signingKeyId(): Promise<string> {
    this.authorityKeyId ??= (async () => {
      const ski = this.signingCert.getExtension(x509.SubjectKeyIdentifierExtension);
      if (ski !== null) return ski.keyId;
      const id = await this.signingCert.publicKey.getKeyIdentifier();
      return Buffer.from(id).toString('hex');
    })();
    return this.authorityKeyId;
  }
}
