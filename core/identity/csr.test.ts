import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import { createCsr, generateKeyPair, InvalidCsrError, verifyCsr } from './csr.js';
import { encodePem, pemBlocks } from './pem.js';
import { parseIdentity } from './spiffe.js';

const run = promisify(execFile);
const identity = parseIdentity('spiffe://cluster.local/ns/default/sa/sleep');

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ambit-csr-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Flips one bit of the signature's last byte: the DER still parses, the signature fails. */
function tamperSignature(pem: string): string {
  const [block] = pemBlocks(pem);
  if (block === undefined) throw new Error('no PEM block');
  const der = Uint8Array.from(block.der);
  der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
  return encodePem(der, block.type);
}

t.test('a workload CSR carries the identity as its only SAN and openssl accepts it', async (t) => {
  const dir = await tempDir(t);
  const pem = await createCsr(identity, await generateKeyPair());
  await writeFile(join(dir, 'req.pem'), pem);
  const { stdout, stderr } = await run('openssl', [
    'req',
    '-in',
    join(dir, 'req.pem'),
    '-noout',
    '-text',
    '-verify',
  ]);
  t.match(stderr + stdout, /verify OK/);
  t.match(
    stdout,
    /X509v3 Subject Alternative Name:\s*\n\s*URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep\s*\n/,
  );
  t.match(stdout, /NIST CURVE: P-256/);
  t.match(stdout, /ecdsa-with-SHA256/);

  const verified = await verifyCsr(pem);
  t.same(verified.uris, [identity]);
  t.same(verified.dnsNames, []);
  t.same(verified.ipAddresses, []);
  t.same(verified.otherNames, []);
});

t.test('a CSR whose signature was tampered with is refused', async (t) => {
  const pem = tamperSignature(await createCsr(identity, await generateKeyPair()));
  await t.rejects(verifyCsr(pem), {
    name: InvalidCsrError.name,
    code: 'AMBIT_INVALID_CSR',
    reason: 'its signature does not match its public key',
  });
});

t.test('text that is not one PEM certificate request is refused with the reason', async (t) => {
  const csr = await createCsr(identity, await generateKeyPair());
  const cases: [string, RegExp][] = [
    ['hello', /no PEM block/],
    [csr + csr, /2 PEM blocks, want one/],
    [
      csr.replace(/CERTIFICATE REQUEST/g, 'CERTIFICATE'),
      /type CERTIFICATE, want CERTIFICATE REQUEST/,
    ],
    [encodePem(new Uint8Array([1, 2, 3]), 'CERTIFICATE REQUEST'), /does not parse as PKCS#10/],
    ['x'.repeat(17 * 1024), /longer than/],
  ];
  for (const [pem, reason] of cases) {
    await t.rejects(verifyCsr(pem), { name: InvalidCsrError.name, reason }, reason.source);
  }
});

t.test('an openssl CSR lists every SAN it asks for', async (t) => {
  const dir = await tempDir(t);
  await run('openssl', [
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'req.pem'),
    '-subj',
    '/O=example',
    '-addext',
    `subjectAltName=URI:${identity},DNS:evil.example.com,IP:10.0.0.1,email:a@b.c`,
  ]);
  const verified = await verifyCsr(await readFile(join(dir, 'req.pem'), 'utf8'));
  t.same(verified.uris, [identity]);
  t.same(verified.dnsNames, ['evil.example.com']);
  t.same(verified.ipAddresses, ['10.0.0.1']);
  t.same(verified.otherNames, ['email:a@b.c']);
});

t.test('RSA CSRs are accepted from 2048 bits and refused below', async (t) => {
  const dir = await tempDir(t);
  for (const bits of [2048, 1024]) {
    await run('openssl', [
      'req',
      '-new',
      '-newkey',
      `rsa:${bits}`,
      '-nodes',
      '-keyout',
      join(dir, `k${bits}.pem`),
      '-out',
      join(dir, `r${bits}.pem`),
      '-subj',
      '/O=example',
      '-addext',
      `subjectAltName=URI:${identity}`,
    ]);
  }
  const ok = await verifyCsr(await readFile(join(dir, 'r2048.pem'), 'utf8'));
  t.same(ok.uris, [identity]);
  await t.rejects(verifyCsr(await readFile(join(dir, 'r1024.pem'), 'utf8')), {
    name: InvalidCsrError.name,
    reason: /unsupported public key RSA 1024/,
  });
});
