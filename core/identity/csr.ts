import { createPublicKey } from 'node:crypto';
import { MeshError } from '../errors.js';
import { pemBlocks } from './pem.js';
import type { Identity } from './spiffe.js';
import { ECDSA_P256, ECDSA_SHA256, subtle, x509, type CryptoKeyPair } from './x509.js';

/** The subject alternative names a CSR asks for, by kind. */
export interface RequestedNames {
  uris: string[];
  dnsNames: string[];
  ipAddresses: string[];
  /** SANs of any other kind (email, directory name, …), as `type:value`. */
  otherNames: string[];
}

/** A CSR whose signature holds, with the names it asks for. */
export interface VerifiedCsr extends RequestedNames {
  publicKey: x509.PublicKey;
}

export class InvalidCsrError extends MeshError {
  readonly code = 'AMBIT_INVALID_CSR';
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`invalid certificate signing request: ${reason}`, options);
  }
}

// An ECDSA CSR is about 500 bytes and an RSA-4096 one under 2 KiB; anything far larger is
// not a CSR and is refused before any parsing work.
const MAX_CSR_PEM = 16 * 1024;
const CSR_PEM_TYPES = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);
const SAN_OID = '2.5.29.17';
const MIN_RSA_BITS = 2048;

/** A fresh ECDSA P-256 key pair; extractable so the private key can be handed to node:tls. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return subtle.generateKey(ECDSA_P256, true, ['sign', 'verify']);
}

/** A PEM PKCS#10 request signed by `keys` whose only SAN is the identity (empty subject). */
export async function createCsr(identity: Identity, keys: CryptoKeyPair): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identity }])],
  });
  return `${csr.toString('pem')}\n`;
}

/**
 * Parses a PEM CSR and checks its self-signature and key. Only ECDSA P-256/P-384 and RSA of
 * at least 2048 bits are accepted: Ambit's own clients use P-256, Istio's Envoy-based
 * clients may still send RSA.
 */
export async function verifyCsr(pem: string): Promise<VerifiedCsr> {
  if (pem.length > MAX_CSR_PEM) throw new InvalidCsrError(`longer than ${MAX_CSR_PEM} bytes`);
  const csr = parseCsr(pem);
  let signatureHolds: boolean;
  try {
    signatureHolds = await csr.verify();
  } catch (err) {
    throw new InvalidCsrError('its signature cannot be checked', { cause: err });
  }
  if (!signatureHolds) throw new InvalidCsrError('its signature does not match its public key');
  checkKey(csr.publicKey);
  return { ...subjectAltNames(csr), publicKey: csr.publicKey };
}

function parseCsr(pem: string): x509.Pkcs10CertificateRequest {
  let blocks;
  try {
    blocks = pemBlocks(pem);
  } catch (err) {
    throw new InvalidCsrError('it is not valid PEM', { cause: err });
  }
  const [block, ...extra] = blocks;
  if (block === undefined) throw new InvalidCsrError('no PEM block found');
  if (extra.length > 0) throw new InvalidCsrError(`${blocks.length} PEM blocks, want one`);
  if (!CSR_PEM_TYPES.has(block.type)) {
    throw new InvalidCsrError(`a PEM block of type ${block.type}, want CERTIFICATE REQUEST`);
  }
  try {
    return new x509.Pkcs10CertificateRequest(block.der);
  } catch (err) {
    throw new InvalidCsrError('its DER does not parse as PKCS#10', { cause: err });
  }
}

function checkKey(publicKey: x509.PublicKey): void {
  let details;
  try {
    const key = createPublicKey({
      key: Buffer.from(publicKey.rawData),
      format: 'der',
      type: 'spki',
    });
    details = { type: key.asymmetricKeyType, ...key.asymmetricKeyDetails };
  } catch (err) {
    throw new InvalidCsrError('its public key does not parse', { cause: err });
  }
  if (details.type === 'ec' && ['prime256v1', 'secp384r1'].includes(details.namedCurve ?? '')) {
    return;
  }
  if (details.type === 'rsa' && (details.modulusLength ?? 0) >= MIN_RSA_BITS) return;
  const shape =
    details.type === 'ec'
      ? `EC ${details.namedCurve}`
      : details.type === 'rsa'
        ? `RSA ${details.modulusLength}`
        : `${details.type}`;
  throw new InvalidCsrError(
    `unsupported public key ${shape}; want ECDSA P-256 (or P-384, RSA ≥ ${MIN_RSA_BITS})`,
  );
}

function subjectAltNames(csr: x509.Pkcs10CertificateRequest): RequestedNames {
  const names: RequestedNames = { uris: [], dnsNames: [], ipAddresses: [], otherNames: [] };
  let extensions;
  try {
    extensions = csr.extensions.filter((e) => e.type === SAN_OID);
  } catch (err) {
    throw new InvalidCsrError('its requested extensions do not parse', { cause: err });
  }
  if (extensions.length > 1) throw new InvalidCsrError('more than one SAN extension');
  const [extension] = extensions;
  if (extension === undefined) return names;
  let items;
  try {
    items = new x509.SubjectAlternativeNameExtension(extension.rawData).names.items;
  } catch (err) {
    throw new InvalidCsrError('its SAN extension does not parse', { cause: err });
  }
  for (const item of items) {
    if (item.type === 'url') names.uris.push(item.value);
    else if (item.type === 'dns') names.dnsNames.push(item.value);
    else if (item.type === 'ip') names.ipAddresses.push(item.value);
    else names.otherNames.push(`${item.type}:${item.value}`);
  }
  return names;
}
