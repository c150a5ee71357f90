import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { StaticTokenAuthenticator } from '../../controlplane/auth/static-tokens.js';
import { ControlPlane } from '../../controlplane/controlplane.js';
import { DirectorySource } from '../../core/config/directory.js';
import {
  CaClient,
  CertificateRequestError,
  type CaClientOptions,
} from '../../core/identity/ca-client.js';
import { leafIdentity } from '../../core/identity/certificate.js';
import { parseIdentity, parseTrustDomain } from '../../core/identity/spiffe.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { createRegistry } from '../../core/telemetry/metrics.js';
import { tempDir } from '../support/ambit.js';

// CaClient against the real control plane's CA, in process: a node tunnel's token for node-1
// gets certificates for pods on node-1 and nothing else.

const run = promisify(execFile);

const dir = await tempDir(t, 'ambit-ca-client-');
const configDir = join(dir, 'config');
const tokensFile = join(dir, 'tokens.yaml');
await mkdir(configDir);
await writeFile(
  join(configDir, 'pods.yaml'),
  `apiVersion: v1
kind: Namespace
metadata: { name: demo, labels: { istio.io/dataplane-mode: ambient } }
---
apiVersion: v1
kind: Pod
metadata: { name: sleep-1, namespace: demo }
spec: { nodeName: node-1, serviceAccountName: sleep, containers: [{ name: sleep, image: curl }] }
status: { phase: Running, podIP: 10.10.1.5, conditions: [{ type: Ready, status: 'True' }] }
---
apiVersion: v1
kind: Pod
metadata: { name: echo-1, namespace: demo }
spec: { nodeName: node-2, serviceAccountName: echo, containers: [{ name: echo, image: echo }] }
status: { phase: Running, podIP: 10.10.2.7, conditions: [{ type: Ready, status: 'True' }] }
`,
);
await writeFile(
  tokensFile,
  '- { token: ztunnel-node-1, namespace: istio-system, serviceAccount: ztunnel, node: node-1 }\n',
);

const trustDomain = parseTrustDomain('cluster.local');
const logger = silentLogger();
const registry = createRegistry();
const controlPlane = new ControlPlane({
  source: new DirectorySource({ directory: configDir, logger, registry }),
  authenticator: await StaticTokenAuthenticator.fromFile(tokensFile, trustDomain),
  logger,
  registry,
  stateDir: join(dir, 'state'),
  trustDomain,
  rootNamespace: 'istio-system',
  clusterId: 'Kubernetes',
  domainSuffix: 'cluster.local',
  maxCertTtlMs: 24 * 60 * 60 * 1000,
  grpc: { host: '127.0.0.1', port: 0 },
  monitoring: { host: '127.0.0.1', port: 0 },
});
const served = await controlPlane.start();
t.teardown(() => controlPlane.stop());

function caClient(options: Partial<CaClientOptions> = {}): CaClient {
  const ca = new CaClient({
    address: `127.0.0.1:${served.grpc.port}`,
    tls: { ca: served.rootCertPem, servername: 'localhost' },
    token: 'ztunnel-node-1',
    logger,
    ...options,
  });
  t.teardown(() => ca.close());
  return ca;
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (err: unknown) => err,
  );
}

const sleep = parseIdentity('spiffe://cluster.local/ns/demo/sa/sleep');
const echo = parseIdentity('spiffe://cluster.local/ns/demo/sa/echo');

t.test(
  'a node tunnel gets a certificate for a pod on its node that openssl verifies',
  async (t) => {
    const issued = await caClient({ ttlSeconds: 3600 }).issue(sleep, { impersonate: true });
    t.equal(leafIdentity(issued.chain), sleep);
    t.equal(issued.roots, served.rootCertPem.trim() + '\n', 'the mesh root');
    const lifetimeMs = issued.notAfter.getTime() - Date.now();
    t.ok(lifetimeMs > 3500_000 && lifetimeMs <= 3600_000, 'the requested ttl was granted');

    const certDir = await tempDir(t);
    const [leaf, ...intermediates] = issued.chain;
    await writeFile(join(certDir, 'leaf.pem'), leaf!);
    await writeFile(join(certDir, 'chain.pem'), intermediates.join(''));
    await writeFile(join(certDir, 'root.pem'), issued.roots);
    const verify = await run('openssl', [
      'verify',
      '-CAfile',
      join(certDir, 'root.pem'),
      '-untrusted',
      join(certDir, 'chain.pem'),
      '-purpose',
      'sslclient',
      join(certDir, 'leaf.pem'),
    ]);
    t.match(verify.stdout, /leaf\.pem: OK/);
    await writeFile(join(certDir, 'key.pem'), issued.key);
    const match = await run('openssl', [
      'x509',
      '-in',
      join(certDir, 'leaf.pem'),
      '-noout',
      '-pubkey',
    ]);
    const fromKey = await run('openssl', ['pkey', '-in', join(certDir, 'key.pem'), '-pubout']);
    t.equal(match.stdout, fromKey.stdout, 'the key belongs to the certificate');
  },
);

t.test('a pod identity on another node is refused with PERMISSION_DENIED', async (t) => {
  const error = await failure(caClient().issue(echo, { impersonate: true }));
  t.type(error, CertificateRequestError);
  t.equal((error as CertificateRequestError).status, grpc.status.PERMISSION_DENIED);
});

t.test('an unknown token is refused with UNAUTHENTICATED', async (t) => {
  const error = await failure(caClient({ token: 'forged' }).issue(sleep, { impersonate: true }));
  t.type(error, CertificateRequestError);
  t.equal((error as CertificateRequestError).status, grpc.status.UNAUTHENTICATED);
});
