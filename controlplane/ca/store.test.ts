import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import { createCsr, generateKeyPair } from '../../core/identity/csr.js';
import { exportPrivateKeyPem } from '../../core/identity/keys.js';
import { DEFAULT_TRUST_DOMAIN, parseIdentity } from '../../core/identity/spiffe.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { CertificateAuthority } from './authority.js';
import {
  CaStateError,
  loadPluggedCa,
  loadSelfSignedCa,
  ROOT_CERT_FILE,
  ROOT_KEY_FILE,
} from './store.js';

const run = promisify(execFile);
const logger = silentLogger();
const sleep = parseIdentity('spiffe://cluster.local/ns/default/sa/sleep');

async function tempDir(t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ambit-ca-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Every file of a directory with its bytes and modification time, to show nothing changed. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) {
    const path = join(dir, name);
    files[name] = `${(await stat(path)).mtimeMs} ${await readFile(path, 'base64')}`;
  }
  return files;
}

async function issue(ca: CertificateAuthority): Promise<string[]> {
  return ca.sign({ csrPem: await createCsr(sleep, await generateKeyPair()), identity: sleep });
}

async function opensslVerify(t: Test, chain: string[], rootFile: string): Promise<string> {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'leaf.pem'), chain[0] ?? '');
  await writeFile(join(dir, 'intermediates.pem'), chain.slice(1, -1).join(''));
  const args = ['verify', '-CAfile', rootFile];
  if (chain.length > 2) args.push('-untrusted', join(dir, 'intermediates.pem'));
  const { stdout } = await run('openssl', [...args, join(dir, 'leaf.pem')]);
  return stdout;
}

t.test('the self-signed root is created on first start and reused on the next', async (t) => {
  const stateDir = join(await tempDir(t), 'ca');
  const first = await loadSelfSignedCa({ stateDir, trustDomain: DEFAULT_TRUST_DOMAIN, logger });
  t.equal((await stat(join(stateDir, ROOT_KEY_FILE))).mode & 0o777, 0o600, 'key is 0600');
  t.equal((await stat(join(stateDir, ROOT_CERT_FILE))).mode & 0o777, 0o600, 'cert is 0600');
  t.equal((await stat(stateDir)).mode & 0o777, 0o700, 'state dir is 0700');
  const before = await snapshot(stateDir);
  t.same(Object.keys(before), [ROOT_CERT_FILE, ROOT_KEY_FILE], 'no temporary files left');

  const second = await loadSelfSignedCa({ stateDir, trustDomain: DEFAULT_TRUST_DOMAIN, logger });
  t.ok(second.chain[0]?.equal(first.chain[0]), 'same root certificate');
  t.same(await snapshot(stateDir), before, 'files untouched on reuse');

  // A certificate signed after the restart chains to the root written on first start.
  const chain = await issue(new CertificateAuthority(second));
  t.match(await opensslVerify(t, chain, join(stateDir, ROOT_CERT_FILE)), /OK/);
  const subject = await run('openssl', [
    'x509',
    '-in',
    join(stateDir, ROOT_CERT_FILE),
    '-noout',
    '-subject',
    '-text',
  ]);
  t.match(subject.stdout, /subject=O = cluster\.local/);
  t.match(subject.stdout, /CA:TRUE/);
  t.match(subject.stdout, /NIST CURVE: P-256/);
});

t.test(
  'a corrupt or mismatched state directory is an error naming the file, and is left alone',
  async (t) => {
    const otherKey = await exportPrivateKeyPem((await generateKeyPair()).privateKey);
    const rsaDir = await tempDir(t);
    await run('openssl', [
      'genpkey',
      '-algorithm',
      'RSA',
      '-pkeyopt',
      'rsa_keygen_bits:2048',
      '-out',
      join(rsaDir, 'rsa.pem'),
    ]);
    const rsaKey = await readFile(join(rsaDir, 'rsa.pem'), 'utf8');
    const cases: [string, { file: string; content: string }, string, RegExp][] = [
      [
        'unparsable certificate',
        { file: ROOT_CERT_FILE, content: 'garbage\n' },
        ROOT_CERT_FILE,
        /no PEM block/,
      ],
      [
        'truncated certificate',
        {
          file: ROOT_CERT_FILE,
          content: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        },
        ROOT_CERT_FILE,
        /does not parse as X\.509/,
      ],
      [
        'unparsable key',
        { file: ROOT_KEY_FILE, content: 'garbage\n' },
        ROOT_KEY_FILE,
        /does not parse/,
      ],
      [
        'key of another root',
        { file: ROOT_KEY_FILE, content: otherKey },
        ROOT_KEY_FILE,
        /does not match the public key of O=cluster\.local/,
      ],
      [
        'RSA key',
        { file: ROOT_KEY_FILE, content: rsaKey },
        ROOT_KEY_FILE,
        /rsa key; want ECDSA P-256/,
      ],
    ];
    for (const [name, damage, file, reason] of cases) {
      const stateDir = await tempDir(t);
      await loadSelfSignedCa({ stateDir, trustDomain: DEFAULT_TRUST_DOMAIN, logger });
      await writeFile(join(stateDir, damage.file), damage.content);
      const before = await snapshot(stateDir);
      await t.rejects(
        loadSelfSignedCa({ stateDir, trustDomain: DEFAULT_TRUST_DOMAIN, logger }),
        { name: CaStateError.name, code: 'AMBIT_CA_STATE', file: join(stateDir, file), reason },
        name,
      );
      t.same(await snapshot(stateDir), before, `${name}: files untouched`);
    }
  },
);

t.test('a root certificate without its key (or the reverse) is never replaced', async (t) => {
  for (const [kept, missing] of [
    [ROOT_CERT_FILE, ROOT_KEY_FILE],
    [ROOT_KEY_FILE, ROOT_CERT_FILE],
  ] as const) {
    const stateDir = await tempDir(t);
    await loadSelfSignedCa({ stateDir, trustDomain: DEFAULT_TRUST_DOMAIN, logger });
    await rm(join(stateDir, missing));
    const before = await snapshot(stateDir);
    await t.rejects(loadSelfSignedCa({ stateDir, trustDomain: DEFAULT_TRUST_DOMAIN, logger }), {
      name: CaStateError.name,
      file: join(stateDir, missing),
      reason: /missing while .* exists/,
    });
    t.same(await snapshot(stateDir), before, `only ${kept} remains, unchanged`);
  }
});

/**
 * An Istio-style plug-in CA made with openssl: root → intermediate → ca (the signing CA),
 * keys in SEC1 form as `openssl ecparam -genkey` writes them, cert-chain.pem holding ca,
 * intermediate and root as Istio's tooling concatenates them.
 */
async function opensslPluginCa(t: Test): Promise<string> {
  const dir = await tempDir(t);
  const work = join(dir, 'work');
  await mkdir(work);
  const f = (name: string): string => join(work, name);
  await writeFile(
    f('ext.cnf'),
    '[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' +
      'subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  );
  for (const name of ['root', 'mid', 'ca']) {
    await run('openssl', [
      'ecparam',
      '-name',
      'prime256v1',
      '-genkey',
      '-noout',
      '-out',
      f(`${name}-key.pem`),
    ]);
  }
  await run('openssl', [
    'req',
    '-x509',
    '-new',
    '-key',
    f('root-key.pem'),
    '-subj',
    '/O=Plug Corp/CN=Plug Root',
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-out',
    f('root-cert.pem'),
  ]);
  for (const [name, issuer, serial] of [
    ['mid', 'root', '2'],
    ['ca', 'mid', '3'],
  ] as const) {
    await run('openssl', [
      'req',
      '-new',
      '-key',
      f(`${name}-key.pem`),
      '-subj',
      `/O=Plug Corp/CN=Plug ${name}`,
      '-out',
      f(`${name}.csr`),
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      f(`${name}.csr`),
      '-CA',
      f(`${issuer}-cert.pem`),
      '-CAkey',
      f(`${issuer}-key.pem`),
      '-set_serial',
      serial,
      '-days',
      '20',
      '-extfile',
      f('ext.cnf'),
      '-extensions',
      'ca',
      '-out',
      f(`${name}-cert.pem`),
    ]);
  }
  const read = (name: string): Promise<string> => readFile(f(name), 'utf8');
  const plugin = join(dir, 'cacerts');
  await mkdir(plugin);
  await writeFile(join(plugin, 'ca-cert.pem'), await read('ca-cert.pem'));
  await writeFile(join(plugin, 'ca-key.pem'), await read('ca-key.pem'));
  await writeFile(join(plugin, 'root-cert.pem'), await read('root-cert.pem'));
  await writeFile(
    join(plugin, 'cert-chain.pem'),
    (await read('ca-cert.pem')) + (await read('mid-cert.pem')) + (await read('root-cert.pem')),
  );
  return plugin;
}

t.test('a plug-in CA signs chains that openssl verifies through its intermediates', async (t) => {
  const plugin = await opensslPluginCa(t);
  const material = await loadPluggedCa({ dir: plugin, logger });
  t.same(
    material.chain.map((c) => c.subject),
    ['O=Plug Corp, CN=Plug ca', 'O=Plug Corp, CN=Plug mid', 'O=Plug Corp, CN=Plug Root'],
  );
  const chain = await issue(new CertificateAuthority(material));
  t.equal(chain.length, 4, 'leaf, ca, intermediate, root');
  t.match(await opensslVerify(t, chain, join(plugin, 'root-cert.pem')), /leaf\.pem: OK/);
});

t.test('a plug-in CA whose files do not belong together is an error naming the file', async (t) => {
  const plugin = await opensslPluginCa(t);
  const caCert = await readFile(join(plugin, 'ca-cert.pem'), 'utf8');
  const chainText = await readFile(join(plugin, 'cert-chain.pem'), 'utf8');
  const [, mid, root] = chainText.split(/(?<=-----END CERTIFICATE-----\n)/);

  await writeFile(join(plugin, 'cert-chain.pem'), caCert + (root ?? '') + (mid ?? ''));
  await t.rejects(loadPluggedCa({ dir: plugin, logger }), {
    name: CaStateError.name,
    file: join(plugin, 'cert-chain.pem'),
    reason: /did not issue/,
  });

  await writeFile(join(plugin, 'cert-chain.pem'), caCert);
  await t.rejects(loadPluggedCa({ dir: plugin, logger }), {
    name: CaStateError.name,
    file: join(plugin, 'root-cert.pem'),
    reason: /holds no root that issued O=Plug Corp, CN=Plug ca/,
  });
  await writeFile(join(plugin, 'cert-chain.pem'), chainText);

  await writeFile(
    join(plugin, 'ca-key.pem'),
    await exportPrivateKeyPem((await generateKeyPair()).privateKey),
  );
  await t.rejects(loadPluggedCa({ dir: plugin, logger }), {
    name: CaStateError.name,
    file: join(plugin, 'ca-key.pem'),
    reason: /does not match/,
  });

  await rm(join(plugin, 'ca-key.pem'));
  await t.rejects(loadPluggedCa({ dir: plugin, logger }), {
    name: CaStateError.name,
    file: join(plugin, 'ca-key.pem'),
    reason: 'is missing',
  });
});
