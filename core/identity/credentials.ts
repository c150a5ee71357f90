import type { Identity } from './spiffe.js';

/**
 * What a workload needs for mTLS: its certificate chain and key, and the roots it checks
 * peers with. The HBONE client and server take these; the CA client makes them.
 */
export interface WorkloadCredentials {
  readonly identity: Identity;
  /** PEM certificates, the leaf first (the root may be last). */
  readonly chain: readonly string[];
  /** The leaf's private key, PEM PKCS#8. */
  readonly key: string;
  /** PEM trust bundle to verify peers with. */
  readonly roots: string;
}

/** Credentials as issued, with the leaf's validity, which decides when to renew them. */
export interface IssuedCredentials extends WorkloadCredentials {
  readonly notBefore: Date;
  readonly notAfter: Date;
}
