import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import { describeChain } from '../../core/identity/certificate.js';
import { createCsr, generateKeyPair, InvalidCsrError } from '../../core/identity/csr.js';
import { DEFAULT_TRUST_DOMAIN, parseIdentity } from '../../core/identity/spiffe.js';
import { ECDSA_SHA256, x509 } from '../../core/identity/x509.js';
import {
  CertificateAuthority,
  CsrIdentityMismatchError,
  type CertificateAuthorityOptions,
} from './authority.js';
import { createSelfSignedRoot } from './root.js';

const run = promisify(execFile);
const HOUR = 60 * 60 * 1000;
const sleep = parseIdentity('spiffe://cluster.local/ns/default/sa/sleep');

async function authority(
  options: CertificateAuthorityOptions & { rootTtlMs?: number } = {},
): Promise<CertificateAuthority> {
  const now = options.now?.();
  const root = await createSelfSignedRoot({
    trustDomain: DEFAULT_TRUST_DOMAIN,
    ...(now ? { now } : {}),
    ...(options.rootTtlMs ? { ttlMs: options.rootTtlMs } : {}),
  });
  return new CertificateAuthority(
    { signingKey: root.keys.privateKey, chain: [root.certificate], roots: [root.certificate] },
    options,
  );
}

async function csrFor(identity: string): Promise<string> {
  return createCsr(parseIdentity(identity), await generateKeyPair());
}

/** Writes the chain's leaf and root to files and returns openssl's view of them. */
async function openssl(t: Test, chain: string[]): Promise<{ verify: string; text: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'ambit-authority-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'leaf.pem'), chain[0] ?? '');
  await writeFile(join(dir, 'root.pem'), chain[chain.length - 1] ?? '');
  const verify = await run('openssl', [
    'verify',
    '-CAfile',
    join(dir, 'root.pem'),
    join(dir, 'leaf.pem'),
  ]);
  const text = await run('openssl', ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-text']);
  return { verify: verify.stdout, text: text.stdout };
}

t.test('a signed workload certificate verifies against the root with openssl', async (t) => {
  const ca = await authority();
  const chain = await ca.sign({ csrPem: await csrFor(sleep), identity: sleep });
  t.equal(chain.length, 2, 'leaf then root for a self-signed CA');
  t.equal(chain[1], ca.roots()[0]);
  const { verify, text } = await openssl(t, chain);
  t.match(verify, /leaf\.pem: OK/);
  t.match(text, /Subject: *\n/, 'empty subject');
  t.match(
    text,
    /X509v3 Subject Alternative Name: critical\s*\n\s*URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep\s*\n/,
  );
  t.match(text, /X509v3 Key Usage: critical\s*\n\s*Digital Signature, Key Encipherment\s*\n/);
  t.match(
    text,
    /X509v3 Extended Key Usage:\s*\n\s*TLS Web Server Authentication, TLS Web Client Authentication/,
  );
  t.match(text, /X509v3 Basic Constraints: critical\s*\n\s*CA:FALSE/);
  t.match(text, /X509v3 Authority Key Identifier/);
  t.match(text, /X509v3 Subject Key Identifier/);
  t.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
});

t.test('the lifetime asked for is capped at the maximum, back-dated a minute', async (t) => {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const ca = await authority({ now: () => now, maxTtlMs: 24 * HOUR });
  const chain = await ca.sign({ csrPem: await csrFor(sleep), identity: sleep, ttlMs: 48 * HOUR });
  const { text } = await openssl(t, chain);
  const notAfter = /Not After : (.+)\n/.exec(text)?.[1] ?? '';
  const notBefore = /Not Before: (.+)\n/.exec(text)?.[1] ?? '';
  t.equal(new Date(notAfter).getTime(), now.getTime() + 24 * HOUR);
  t.equal(new Date(notBefore).getTime(), now.getTime() - 60 * 1000);
});

t.test('a shorter lifetime is honoured, and none asked for gets the default', async (t) => {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const ca = await authority({ now: () => now, maxTtlMs: 12 * HOUR, defaultTtlMs: 6 * HOUR });
  const lifetime = async (ttlMs: number | undefined): Promise<number> => {
    const chain = await ca.sign({ csrPem: await csrFor(sleep), identity: sleep, ttlMs });
    return (describeChain(chain)[0]?.notAfter.getTime() ?? 0) - now.getTime();
  };
  t.equal(await lifetime(HOUR), HOUR);
  t.equal(await lifetime(undefined), 6 * HOUR);
  t.equal(await lifetime(0), 6 * HOUR);
  t.equal(await lifetime(-5), 6 * HOUR);
});

t.test('a leaf never outlives the certificate that signs it', async (t) => {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const ca = await authority({ now: () => now, rootTtlMs: 2 * HOUR });
  const chain = await ca.sign({ csrPem: await csrFor(sleep), identity: sleep, ttlMs: 24 * HOUR });
  const [leaf, root] = describeChain(chain);
  t.equal(leaf?.notAfter.getTime(), root?.notAfter.getTime());
});

t.test('each certificate gets a fresh random 128-bit serial', async (t) => {
  const ca = await authority();
  const csrPem = await csrFor(sleep);
  const serials = new Set<string>();
  for (let i = 0; i < 5; i++) {
    const [leaf] = describeChain(await ca.sign({ csrPem, identity: sleep }));
    serials.add(leaf?.serial ?? '');
  }
  t.equal(serials.size, 5);
  for (const serial of serials) {
    const value = BigInt(`0x${serial}`);
    // Below 2^128, and above 2^64 unless 64 random bits all came out zero.
    t.ok(value < 2n ** 128n && value > 2n ** 64n, serial);
  }
});

t.test('a CSR for another identity is refused', async (t) => {
  const ca = await authority();
  await t.rejects(
    ca.sign({
      csrPem: await csrFor('spiffe://cluster.local/ns/kube-system/sa/admin'),
      identity: sleep,
    }),
    {
      name: CsrIdentityMismatchError.name,
      code: 'AMBIT_CSR_IDENTITY_MISMATCH',
      requested: ['spiffe://cluster.local/ns/kube-system/sa/admin'],
    },
  );
});

t.test('a CSR asking for the identity plus any other name is refused', async (t) => {
  const ca = await authority();
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.SubjectAlternativeNameExtension([
        { type: 'url', value: sleep },
        { type: 'dns', value: 'kubernetes.default.svc' },
      ]),
    ],
  });
  await t.rejects(ca.sign({ csrPem: csr.toString('pem'), identity: sleep }), {
    name: CsrIdentityMismatchError.name,
    requested: [sleep, 'kubernetes.default.svc'],
  });
  const bare = await x509.Pkcs10CertificateRequestGenerator.create({
    keys,
    signingAlgorithm: ECDSA_SHA256,
    name: 'CN=sleep',
  });
  await t.rejects(ca.sign({ csrPem: bare.toString('pem'), identity: sleep }), {
    name: CsrIdentityMismatchError.name,
    requested: [],
  });
});

t.test('a CSR that does not parse is refused before anything is signed', async (t) => {
  const ca = await authority();
  await t.rejects(ca.sign({ csrPem: 'not a csr', identity: sleep }), {
    name: InvalidCsrError.name,
  });
});
