import { MeshError } from '../errors.js';
import { encodePem, pemBlocks } from './pem.js';
import { parseIdentity, type Identity } from './spiffe.js';
import { x509 } from './x509.js';

export class InvalidCertificateError extends MeshError {
  readonly code = 'AMBIT_INVALID_CERTIFICATE';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid certificate: ${reason}`, options);
  }
}

/** What `/config_dump` and logs show of one certificate. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  /** Lowercase hex, as openssl prints it without the colons. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  uris: string[];
  dnsNames: string[];
  ipAddresses: string[];
  /** The SPIFFE identity when the only URI SAN is one. */
  identity: Identity | undefined;
  isCa: boolean;
}

/** Each certificate of a PEM bundle, in file order; other block types are an error. */
export function parseCertificates(pem: string): x509.X509Certificate[] {
  let blocks;
  try {
    blocks = pemBlocks(pem);
  } catch (err) {
    throw new InvalidCertificateError('it is not valid PEM', { cause: err });
  }
  if (blocks.length === 0) throw new InvalidCertificateError('no PEM block found');
  return blocks.map((block, i) => {
    if (block.type !== 'CERTIFICATE') {
      throw new InvalidCertificateError(`PEM block ${i + 1} is ${block.type}, want CERTIFICATE`);
    }
    try {
      return new x509.X509Certificate(block.der);
    } catch (err) {
      throw new InvalidCertificateError(`PEM block ${i + 1} does not parse as X.509`, {
        cause: err,
      });
    }
  });
}

/** Exactly one certificate from PEM. */
export function parseCertificate(pem: string): x509.X509Certificate {
  const certs = parseCertificates(pem);
  const [cert] = certs;
  if (cert === undefined || certs.length > 1) {
    throw new InvalidCertificateError(`${certs.length} certificates, want one`);
  }
  return cert;
}

export function certificatePem(cert: x509.X509Certificate): string {
  return encodePem(cert.rawData, 'CERTIFICATE');
}

export function describeCertificate(cert: x509.X509Certificate): CertificateInfo {
  const uris: string[] = [];
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  for (const name of cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? []) {
    if (name.type === 'url') uris.push(name.value);
    else if (name.type === 'dns') dnsNames.push(name.value);
    else if (name.type === 'ip') ipAddresses.push(name.value);
  }
  const [uri] = uris;
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    serial: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    uris,
    dnsNames,
    ipAddresses,
    identity: uris.length === 1 && uri !== undefined ? identityOrUndefined(uri) : undefined,
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca === true,
  };
}

/** Describes each certificate of a chain (one PEM string or one per certificate). */
export function describeChain(chain: string | readonly string[]): CertificateInfo[] {
  const pems = typeof chain === 'string' ? [chain] : chain;
  return pems.flatMap((pem) => parseCertificates(pem)).map(describeCertificate);
}

/** The workload identity a chain's leaf (its first certificate) carries, if any. */
export function leafIdentity(chain: string | readonly string[]): Identity | undefined {
  return describeChain(chain)[0]?.identity;
}

function identityOrUndefined(uri: string): Identity | undefined {
  try {
    return parseIdentity(uri);
  } catch {
    return undefined;
  }
}
