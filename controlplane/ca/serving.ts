import { generateKeyPair } from '../../core/identity/csr.js';
import { exportPrivateKeyPem } from '../../core/identity/keys.js';
import type { CertificateAuthority } from './authority.js';

/** Key and certificates for the control plane's own gRPC (xDS + CA) TLS listener. */
export interface ServingCertificate {
  keyPem: string;
  /** The leaf, then any intermediates (what the server sends); without the root. */
  certChainPem: string;
  /** The trust bundle clients verify the server with. */
  rootCertPem: string;
}

/** Names a control plane is reached by in a cluster (Istio's service name) and locally. */
export const DEFAULT_SERVING_DNS_NAMES = ['istiod.istio-system.svc', 'localhost'];
export const DEFAULT_SERVING_IPS = ['127.0.0.1', '::1'];
/**
 * Nothing renews the serving certificate while the process runs, so it lives long; the
 * workload certificates it guards are short-lived and renewed on their own.
 */
export const DEFAULT_SERVING_TTL_MS = 365 * 24 * 60 * 60 * 1000;

/** Issues a fresh P-256 key and serving certificate for the default names plus the given ones. */
export async function issueServingCertificate(
  authority: CertificateAuthority,
  options: { dnsNames?: string[]; ipAddresses?: string[]; ttlMs?: number } = {},
): Promise<ServingCertificate> {
  const keys = await generateKeyPair();
  const chain = await authority.issueServing({
    publicKey: keys.publicKey,
    dnsNames: unique([...DEFAULT_SERVING_DNS_NAMES, ...(options.dnsNames ?? [])]),
    ipAddresses: unique([...DEFAULT_SERVING_IPS, ...(options.ipAddresses ?? [])]),
    ttlMs: options.ttlMs ?? DEFAULT_SERVING_TTL_MS,
  });
  return {
    keyPem: await exportPrivateKeyPem(keys.privateKey),
    certChainPem: chain.slice(0, -1).join(''),
    rootCertPem: authority.roots().join(''),
  };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
