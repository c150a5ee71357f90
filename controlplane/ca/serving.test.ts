import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { DEFAULT_TRUST_DOMAIN } from '../../core/identity/spiffe.js';
import { CertificateAuthority } from './authority.js';
import { createSelfSignedRoot } from './root.js';
import { issueServingCertificate } from './serving.js';

const run = promisify(execFile);

t.test(
  'the control plane serving certificate names its service, localhost and given addresses',
  async (t) => {
    const root = await createSelfSignedRoot({ trustDomain: DEFAULT_TRUST_DOMAIN });
    const ca = new CertificateAuthority({
      signingKey: root.keys.privateKey,
      chain: [root.certificate],
      roots: [root.certificate],
    });
    const serving = await issueServingCertificate(ca, {
      dnsNames: ['ambit.example.com'],
      ipAddresses: ['10.1.2.3', '127.0.0.1'],
    });
    const dir = await mkdtemp(join(tmpdir(), 'ambit-serving-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const file = (name: string): string => join(dir, name);
    await writeFile(file('cert.pem'), serving.certChainPem);
    await writeFile(file('key.pem'), serving.keyPem);
    await writeFile(file('root.pem'), serving.rootCertPem);

    const verify = await run('openssl', [
      'verify',
      '-purpose',
      'sslserver',
      '-CAfile',
      file('root.pem'),
      file('cert.pem'),
    ]);
    t.match(verify.stdout, /cert\.pem: OK/);
    const san = await run('openssl', [
      'x509',
      '-in',
      file('cert.pem'),
      '-noout',
      '-ext',
      'subjectAltName',
    ]);
    t.match(
      san.stdout,
      'DNS:istiod.istio-system.svc, DNS:localhost, DNS:ambit.example.com, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, IP Address:10.1.2.3',
    );
    // The key is the certificate's: both public keys print the same.
    const fromCert = await run('openssl', ['x509', '-in', file('cert.pem'), '-noout', '-pubkey']);
    const fromKey = await run('openssl', ['pkey', '-in', file('key.pem'), '-pubout']);
    t.equal(fromCert.stdout, fromKey.stdout);
    t.notMatch(serving.certChainPem, serving.rootCertPem, 'the root is not sent by the server');
  },
);
