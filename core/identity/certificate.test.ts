import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import type { Test } from 'tap';
import {
  describeChain,
  InvalidCertificateError,
  leafIdentity,
  parseCertificate,
  parseCertificates,
} from './certificate.js';

const run = promisify(execFile);

/** A self-signed certificate made by openssl, with the given SANs. */
async function opensslCertificate(t: Test, san: string, extra: string[] = []): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ambit-cert-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'cert.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    file,
    '-days',
    '2',
    '-subj',
    '/O=example',
    '-addext',
    `subjectAltName=${san}`,
    ...extra,
  ]);
  return readFile(file, 'utf8');
}

async function opensslField(pem: string, flag: string): Promise<string> {
  const child = execFile('openssl', ['x509', '-noout', flag]);
  child.stdin?.end(pem);
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  return out.trim();
}

t.test('a leaf shows its identity, serial and validity as openssl reads them', async (t) => {
  const pem = await opensslCertificate(
    t,
    'URI:spiffe://cluster.local/ns/default/sa/sleep,DNS:sleep.default',
    ['-addext', 'basicConstraints=critical,CA:FALSE'],
  );
  const [info] = describeChain([pem]);
  t.ok(info);
  if (info === undefined) return;
  t.equal(info.identity, 'spiffe://cluster.local/ns/default/sa/sleep');
  t.same(info.uris, ['spiffe://cluster.local/ns/default/sa/sleep']);
  t.same(info.dnsNames, ['sleep.default']);
  t.equal(info.isCa, false);
  t.equal(info.subject, 'O=example');
  t.equal(info.serial, (await opensslField(pem, '-serial')).replace('serial=', '').toLowerCase());
  const notBefore = (await opensslField(pem, '-startdate')).replace('notBefore=', '');
  const notAfter = (await opensslField(pem, '-enddate')).replace('notAfter=', '');
  t.equal(info.notBefore.getTime(), new Date(notBefore).getTime());
  t.equal(info.notAfter.getTime(), new Date(notAfter).getTime());
  t.equal(leafIdentity(pem), 'spiffe://cluster.local/ns/default/sa/sleep');
});

t.test('a chain in one PEM string is described certificate by certificate', async (t) => {
  const leaf = await opensslCertificate(t, 'URI:spiffe://cluster.local/ns/a/sa/b');
  const ca = await opensslCertificate(t, 'DNS:ca.example', [
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  ]);
  const chain = describeChain(leaf + ca);
  t.equal(chain.length, 2);
  t.equal(chain[0]?.identity, 'spiffe://cluster.local/ns/a/sa/b');
  t.equal(chain[1]?.identity, undefined);
  t.equal(chain[1]?.isCa, true);
});

t.test('a certificate without a SPIFFE URI SAN has no identity', async (t) => {
  const pem = await opensslCertificate(t, 'URI:https://example.com/x');
  t.equal(leafIdentity(pem), undefined);
});

t.test('text that is not PEM certificates is refused with the reason', async (t) => {
  t.throws(() => parseCertificates('nothing here'), InvalidCertificateError);
  t.throws(
    () => parseCertificates('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
    { code: 'AMBIT_INVALID_CERTIFICATE', reason: 'PEM block 1 is PRIVATE KEY, want CERTIFICATE' },
  );
  t.throws(
    () => parseCertificates('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    { name: InvalidCertificateError.name, reason: 'PEM block 1 does not parse as X.509' },
  );
  const pem = await opensslCertificate(t, 'DNS:x');
  t.throws(() => parseCertificate(pem + pem), {
    name: InvalidCertificateError.name,
    reason: '2 certificates, want one',
  });
});
