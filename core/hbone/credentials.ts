import { createSecureContext, type SecureContext, type TlsOptions } from 'node:tls';
import { describeCertificate } from '../identity/certificate.js';
import type { WorkloadCredentials } from '../identity/credentials.js';
import type { Identity } from '../identity/spiffe.js';
import { x509 } from '../identity/x509.js';
import { HANDSHAKE_TIMEOUT_MS } from './settings.js';

// How HBONE's TLS uses a workload's credentials, on both ends. The type itself lives with
// the identity code that issues it; it is re-exported here because every HBONE caller
// holds one.
export type { WorkloadCredentials };

// Parsing PEM into an OpenSSL context costs a millisecond or so; a pooled client makes one
// per new connection, so the context is made once per credentials object. A renewal is a
// new object, so it gets a new context and the old one goes when nothing holds it.
const clientContexts = new WeakMap<WorkloadCredentials, SecureContext>();

/** The TLS 1.3 client context that presents `credentials` and trusts their roots. */
export function clientSecureContext(credentials: WorkloadCredentials): SecureContext {
  let context = clientContexts.get(credentials);
  if (context === undefined) {
    context = createSecureContext({
      cert: credentials.chain.join('\n'),
      key: credentials.key,
      ca: credentials.roots,
      minVersion: 'TLSv1.3',
    });
    clientContexts.set(credentials, context);
  }
  return context;
}

/** Server options: TLS 1.3, ALPN h2, and a client certificate signed by the roots, required. */
export function serverTlsOptions(credentials: WorkloadCredentials): TlsOptions {
  return {
    cert: credentials.chain.join('\n'),
    key: credentials.key,
    ca: credentials.roots,
    minVersion: 'TLSv1.3',
    requestCert: true,
    rejectUnauthorized: true,
    ALPNProtocols: ['h2'],
    handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
  };
}

/**
 * The SPIFFE identity a verified peer certificate (DER) proves: its only URI SAN, parsed;
 * undefined when it has none, several, or one that is not a workload identity.
 */
export function certificateIdentity(der: Uint8Array): Identity | undefined {
  try {
    return describeCertificate(new x509.X509Certificate(der)).identity;
  } catch {
    return undefined;
  }
}
