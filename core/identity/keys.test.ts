import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import { generateKeyPair } from './csr.js';
import {
  exportPrivateKeyPem,
  importPrivateKeyPem,
  InvalidKeyError,
  keyMatchesPublicKey,
} from './keys.js';
import { subtle } from './x509.js';

const run = promisify(execFile);

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ambit-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

t.test('an exported key is PKCS#8 that openssl reads and that imports back', async (t) => {
  const dir = await tempDir(t);
  const keys = await generateKeyPair();
  const pem = await exportPrivateKeyPem(keys.privateKey);
  t.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
  await writeFile(join(dir, 'key.pem'), pem);
  const { stdout } = await run('openssl', ['pkey', '-in', join(dir, 'key.pem'), '-noout', '-text']);
  t.match(stdout, /NIST CURVE: P-256/);
  const imported = await importPrivateKeyPem(pem);
  t.ok(
    keyMatchesPublicKey(imported, new Uint8Array(await subtle.exportKey('spki', keys.publicKey))),
  );
});

t.test('a SEC1 "EC PRIVATE KEY" from openssl imports, as Istio plug-in CAs ship it', async (t) => {
  const dir = await tempDir(t);
  await run('openssl', [
    'ecparam',
    '-name',
    'prime256v1',
    '-genkey',
    '-noout',
    '-out',
    join(dir, 'k.pem'),
  ]);
  const pem = await readFile(join(dir, 'k.pem'), 'utf8');
  t.match(pem, /BEGIN EC PRIVATE KEY/);
  const key = await importPrivateKeyPem(pem);
  t.equal(key.privateKey.algorithm.name, 'ECDSA');
});

t.test('keys that are not ECDSA P-256 are refused with what they are', async (t) => {
  const dir = await tempDir(t);
  await run('openssl', [
    'genpkey',
    '-algorithm',
    'RSA',
    '-pkeyopt',
    'rsa_keygen_bits:2048',
    '-out',
    join(dir, 'rsa.pem'),
  ]);
  await run('openssl', [
    'ecparam',
    '-name',
    'secp384r1',
    '-genkey',
    '-noout',
    '-out',
    join(dir, 'p384.pem'),
  ]);
  await t.rejects(importPrivateKeyPem(await readFile(join(dir, 'rsa.pem'), 'utf8')), {
    code: 'AMBIT_INVALID_KEY',
    reason: 'it is a rsa key; want ECDSA P-256',
  });
  await t.rejects(importPrivateKeyPem(await readFile(join(dir, 'p384.pem'), 'utf8')), {
    name: InvalidKeyError.name,
    reason: 'it is a EC secp384r1 key; want ECDSA P-256',
  });
  await t.rejects(importPrivateKeyPem('garbage'), InvalidKeyError);
});

t.test("a key does not match another key pair's public key", async (t) => {
  const mine = await importPrivateKeyPem(
    await exportPrivateKeyPem((await generateKeyPair()).privateKey),
  );
  const other = await generateKeyPair();
  t.notOk(
    keyMatchesPublicKey(mine, new Uint8Array(await subtle.exportKey('spki', other.publicKey))),
  );
  t.notOk(keyMatchesPublicKey(mine, new Uint8Array([1, 2, 3])));
});
