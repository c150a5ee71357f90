import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshError } from '../../core/errors.js';
import { certificatePem, parseCertificates } from '../../core/identity/certificate.js';
import {
  exportPrivateKeyPem,
  importPrivateKeyPem,
  keyMatchesPublicKey,
  type SigningKey,
} from '../../core/identity/keys.js';
import type { TrustDomain } from '../../core/identity/spiffe.js';
import { x509 } from '../../core/identity/x509.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { CaMaterial } from './authority.js';
import { createSelfSignedRoot } from './root.js';

/** The CA's files are missing, unreadable, corrupt or do not belong together. */
export class CaStateError extends MeshError {
  readonly code = 'AMBIT_CA_STATE';
  constructor(
    readonly file: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`CA state ${file}: ${reason}`, options);
  }
}

/** File names of the self-signed CA's state directory. */
export const ROOT_CERT_FILE = 'root-cert.pem';
export const ROOT_KEY_FILE = 'root-key.pem';

/** Istio's plug-in CA file names (the `cacerts` secret). */
export const PLUGIN_FILES = {
  caCert: 'ca-cert.pem',
  caKey: 'ca-key.pem',
  rootCert: 'root-cert.pem',
  certChain: 'cert-chain.pem',
} as const;

/**
 * The self-signed root kept in `stateDir`: created on first start, reused afterwards. When
 * the directory holds anything unexpected (one file without the other, a corrupt file, a key
 * that does not match the certificate) this throws and touches nothing: regenerating would
 * silently revoke every certificate the mesh holds.
 */
export async function loadSelfSignedCa(options: {
  stateDir: string;
  trustDomain: TrustDomain;
  logger: Logger;
  now?: () => Date;
}): Promise<CaMaterial> {
  const now = options.now ?? (() => new Date());
  const certFile = join(options.stateDir, ROOT_CERT_FILE);
  const keyFile = join(options.stateDir, ROOT_KEY_FILE);
  const [hasCert, hasKey] = await Promise.all([exists(certFile), exists(keyFile)]);
  if (!hasCert && !hasKey) {
    return createRoot({ ...options, certFile, keyFile, now: now() });
  }
  if (!hasCert || !hasKey) {
    const [present, missing] = hasCert ? [certFile, keyFile] : [keyFile, certFile];
    throw new CaStateError(
      missing,
      `missing while ${present} exists; restore it, or remove both files to create a new root`,
    );
  }
  const certificate = await readOneCertificate(certFile);
  const key = await readKey(keyFile, certificate);
  await checkCa(certFile, certificate, now());
  if (!(await certificate.isSelfSigned())) {
    throw new CaStateError(certFile, 'is not a self-signed root');
  }
  await warnIfKeyReadable(keyFile, options.logger);
  options.logger.info(
    { rootSerial: certificate.serialNumber, notAfter: certificate.notAfter.toISOString() },
    'CA root loaded from the state directory',
  );
  return { signingKey: key.privateKey, chain: [certificate], roots: [certificate] };
}

/**
 * A plug-in CA from a directory with Istio's file names: an intermediate (`ca-cert.pem`,
 * `ca-key.pem`), its chain (`cert-chain.pem`, which may repeat ca-cert.pem and the root), and
 * the trust bundle (`root-cert.pem`). Issued chains are ca-cert, the rest of cert-chain, root.
 */
export async function loadPluggedCa(options: {
  dir: string;
  logger: Logger;
  now?: () => Date;
}): Promise<CaMaterial> {
  const now = (options.now ?? (() => new Date()))();
  const file = (name: string): string => join(options.dir, name);
  const caCertFile = file(PLUGIN_FILES.caCert);
  const chainFile = file(PLUGIN_FILES.certChain);
  const rootFile = file(PLUGIN_FILES.rootCert);
  const caCert = await readOneCertificate(caCertFile);
  const key = await readKey(file(PLUGIN_FILES.caKey), caCert);
  await checkCa(caCertFile, caCert, now);
  const roots = await readCertificates(rootFile);
  const intermediates = (await exists(chainFile)) ? await readCertificates(chainFile) : [];

  const chain = [caCert];
  for (const cert of [...intermediates, ...roots]) {
    const last = chain[chain.length - 1] as x509.X509Certificate;
    if (isOneOf(last, roots)) break;
    if (isOneOf(cert, chain)) continue;
    if (!(await issued(cert, last))) {
      if (intermediates.includes(cert)) {
        throw new CaStateError(
          chainFile,
          `${cert.subject} did not issue ${last.subject}; list each issuer in order up to the root`,
        );
      }
      continue;
    }
    chain.push(cert);
  }
  const top = chain[chain.length - 1] as x509.X509Certificate;
  if (!isOneOf(top, roots)) {
    throw new CaStateError(rootFile, `holds no root that issued ${top.subject} (${top.issuer})`);
  }
  options.logger.info(
    { chainLength: chain.length, roots: roots.length, notAfter: caCert.notAfter.toISOString() },
    'plug-in CA loaded',
  );
  return { signingKey: key.privateKey, chain, roots };
}

async function createRoot(options: {
  stateDir: string;
  trustDomain: TrustDomain;
  logger: Logger;
  certFile: string;
  keyFile: string;
  now: Date;
}): Promise<CaMaterial> {
  const root = await createSelfSignedRoot({ trustDomain: options.trustDomain, now: options.now });
  await mkdir(options.stateDir, { recursive: true, mode: 0o700 });
  await placeNew(options.keyFile, await exportPrivateKeyPem(root.keys.privateKey), 0o600);
  await placeNew(options.certFile, certificatePem(root.certificate), 0o600);
  options.logger.info(
    { rootSerial: root.certificate.serialNumber, stateDir: options.stateDir },
    'CA root created',
  );
  const certificate = root.certificate;
  return { signingKey: root.keys.privateKey, chain: [certificate], roots: [certificate] };
}

/**
 * Writes a new file whole or not at all: the content goes to a temporary name first and is
 * then linked in, which fails rather than overwrites when the name already exists.
 */
async function placeNew(path: string, content: string, mode: number): Promise<void> {
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(temporary, content, { mode, flag: 'wx' });
  try {
    await link(temporary, path);
  } catch (err) {
    throw new CaStateError(path, 'could not be created', { cause: err });
  } finally {
    await unlink(temporary);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new CaStateError(path, 'cannot be read', { cause: err });
  }
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const reason =
      (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'is missing' : 'cannot be read';
    throw new CaStateError(path, reason, { cause: err });
  }
}

async function readCertificates(path: string): Promise<x509.X509Certificate[]> {
  const text = await readText(path);
  try {
    return parseCertificates(text);
  } catch (err) {
    throw new CaStateError(path, (err as Error).message, { cause: err });
  }
}

async function readOneCertificate(path: string): Promise<x509.X509Certificate> {
  const certs = await readCertificates(path);
  const [cert] = certs;
  if (cert === undefined || certs.length !== 1) {
    throw new CaStateError(path, `holds ${certs.length} certificates, want one`);
  }
  return cert;
}

async function readKey(path: string, certificate: x509.X509Certificate): Promise<SigningKey> {
  let key: SigningKey;
  try {
    key = await importPrivateKeyPem(await readText(path));
  } catch (err) {
    if (err instanceof CaStateError) throw err;
    throw new CaStateError(path, (err as Error).message, { cause: err });
  }
  if (!keyMatchesPublicKey(key, certificate.publicKey.rawData)) {
    throw new CaStateError(path, `does not match the public key of ${certificate.subject}`);
  }
  return key;
}

async function checkCa(path: string, cert: x509.X509Certificate, now: Date): Promise<void> {
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  if (constraints === null || !constraints.ca) {
    throw new CaStateError(path, 'is not a CA certificate (basicConstraints CA:TRUE missing)');
  }
  if (cert.notAfter.getTime() <= now.getTime()) {
    throw new CaStateError(path, `expired at ${cert.notAfter.toISOString()}`);
  }
}

function isOneOf(cert: x509.X509Certificate, list: readonly x509.X509Certificate[]): boolean {
  return list.some((other) => cert.equal(other));
}

async function issued(issuer: x509.X509Certificate, cert: x509.X509Certificate): Promise<boolean> {
  if (issuer.subject !== cert.issuer) return false;
  try {
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

async function warnIfKeyReadable(path: string, logger: Logger): Promise<void> {
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0) {
    logger.warn(
      { file: path, mode: (mode & 0o777).toString(8) },
      'CA key file is readable by group or others; chmod 600 it',
    );
  }
}
