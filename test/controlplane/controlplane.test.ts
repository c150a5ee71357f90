import t from 'tap';
import * as grpc from '@grpc/grpc-js';
import { execFile } from 'node:child_process';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IstioCertificateService } from '../../api/gen/istio/v1/auth/ca_pb.js';
import { bindClient, GrpcCallError } from '../../api/grpc/service.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL } from '../../api/xds/type-urls.js';
import { createCsr, generateKeyPair } from '../../core/identity/csr.js';
import { parseIdentity } from '../../core/identity/spiffe.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { DeltaXdsClient } from '../../core/xds/client.js';
import { waitFor } from '../../core/xds/testing/wait.js';
import { tempDir } from '../support/ambit.js';
import { startAmbit } from '../support/process.js';

const run = promisify(execFile);

// One real `ambit controlplane` process for the whole file: its config directory, token
// file and state directory are fresh temporary directories.
const dir = await tempDir(t, 'ambit-cp-');
const configDir = join(dir, 'config');
const stateDir = join(dir, 'state');
await cp('samples/config', configDir, { recursive: true });
const tokensFile = join(dir, 'tokens.yaml');
await writeFile(
  tokensFile,
  [
    '- { token: ztunnel-node-1, namespace: istio-system, serviceAccount: ztunnel, node: node-1 }',
    '- { token: sleep-token, namespace: demo, serviceAccount: sleep }',
  ].join('\n'),
);

const controlPlane = startAmbit(t, [
  'controlplane',
  '--config',
  configDir,
  '--tokens',
  tokensFile,
  '--state-dir',
  stateDir,
  '--listen',
  '127.0.0.1:0',
  '--monitoring',
  '127.0.0.1:0',
]);
const serving = await controlPlane.waitForLog((l) => l.msg === 'control plane serving');
const grpcAddress = String(serving.grpc);
const monitoring = `http://${String(serving.monitoring)}`;
const rootPem = await readFile(join(stateDir, 'root-cert.pem'), 'utf8');

function channel(): grpc.Client {
  const client = new grpc.Client(grpcAddress, grpc.credentials.createSsl(Buffer.from(rootPem)), {
    'grpc.ssl_target_name_override': 'localhost',
  });
  t.teardown(() => client.close());
  return client;
}

/** The gRPC status a call ended with (OK when it succeeded). */
async function statusOf(call: Promise<unknown>): Promise<grpc.status> {
  try {
    await call;
    return grpc.status.OK;
  } catch (err) {
    return err instanceof GrpcCallError ? err.status : grpc.status.UNKNOWN;
  }
}

function bearer(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

t.test(
  'a node tunnel receives the address and authorization snapshot, then a delta within a second of a file change',
  async (t) => {
    const held = new Map<string, Set<string>>([
      [ADDRESS_TYPE_URL, new Set()],
      [AUTHORIZATION_TYPE_URL, new Set()],
    ]);
    const client = new DeltaXdsClient({
      address: grpcAddress,
      tls: { ca: rootPem, servername: 'localhost' },
      token: 'ztunnel-node-1',
      node: { id: 'ztunnel~node-1' },
      typeUrls: [ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL],
      logger: silentLogger(),
      onResources: (typeUrl, delta) => {
        const names = held.get(typeUrl)!;
        for (const name of delta.upserts.keys()) names.add(name);
        for (const name of delta.removals) names.delete(name);
      },
    });
    t.teardown(() => client.close());
    client.start();
    await client.whenSynced();

    t.same([...held.get(ADDRESS_TYPE_URL)!].sort(), [
      'Kubernetes//Pod/demo/echo-v1-1',
      'Kubernetes//Pod/demo/sleep-1',
      'demo/echo.demo.svc.cluster.local',
    ]);
    t.ok(held.get(AUTHORIZATION_TYPE_URL)!.has('demo/echo-from-sleep'));

    const changedAt = performance.now();
    await writeFile(
      join(configDir, 'new-pod.yaml'),
      `apiVersion: v1
kind: Pod
metadata: { name: echo-v1-2, namespace: demo, labels: { app: echo, version: v1 } }
spec: { nodeName: node-3, serviceAccountName: echo, containers: [{ name: echo, image: echo }] }
status: { phase: Running, podIP: 10.10.1.9, conditions: [{ type: Ready, status: 'True' }] }
`,
    );
    await waitFor(
      'the new pod to arrive',
      () => held.get(ADDRESS_TYPE_URL)!.has('Kubernetes//Pod/demo/echo-v1-2'),
      1000,
    );
    t.ok(performance.now() - changedAt < 1000, 'delta arrived within one second');

    const metrics = await (await fetch(`${monitoring}/metrics`)).text();
    t.match(metrics, /^ambit_xds_connected_clients 1$/m);
  },
);

t.test(
  'an invalid document is rejected alone and the last good version keeps serving',
  async (t) => {
    await writeFile(
      join(configDir, 'demo.yaml'),
      (await readFile('samples/config/demo.yaml', 'utf8')).replace('port: 80', 'port: 0'),
    );
    await waitFor(
      'the rejection to be logged',
      () =>
        controlPlane.logs.some(
          (l) =>
            String(l.msg).includes('rejected') ||
            String(JSON.stringify(l)).includes('spec.ports[0].port'),
        ),
      2000,
    );
    const config = (await (await fetch(`${monitoring}/debug/config`)).json()) as {
      rejected: string[];
    };
    t.equal(config.rejected.length, 1);
    t.match(config.rejected[0], /demo\.yaml:\d+: Service demo\/echo: spec\.ports\[0\]\.port: /);
    const metrics = await (await fetch(`${monitoring}/metrics`)).text();
    t.match(metrics, /^ambit_config_rejected_total\{kind="Service"\} [1-9]/m);
    t.equal((await fetch(`${monitoring}/ready`)).status, 200);
  },
);

t.test(
  'the CA issues a pod certificate to its node tunnel that verifies with openssl against the root',
  async (t) => {
    const ca = bindClient(IstioCertificateService, channel());
    const identity = parseIdentity('spiffe://cluster.local/ns/demo/sa/sleep');
    const response = await ca.createCertificate(
      {
        csr: await createCsr(identity, await generateKeyPair()),
        validityDuration: 3600n,
        metadata: { ImpersonatedIdentity: identity },
      },
      { metadata: bearer('ztunnel-node-1') },
    );
    t.equal(response.certChain.length, 2, 'leaf and root');
    const certDir = await tempDir(t);
    await writeFile(join(certDir, 'leaf.pem'), response.certChain[0]!);
    await writeFile(join(certDir, 'root.pem'), rootPem);
    const verify = await run('openssl', [
      'verify',
      '-CAfile',
      join(certDir, 'root.pem'),
      join(certDir, 'leaf.pem'),
    ]);
    t.match(verify.stdout, /leaf\.pem: OK/);
    const text = await run('openssl', [
      'x509',
      '-in',
      join(certDir, 'leaf.pem'),
      '-noout',
      '-ext',
      'subjectAltName',
    ]);
    t.match(text.stdout, 'URI:spiffe://cluster.local/ns/demo/sa/sleep');
  },
);

t.test(
  'the CA refuses a pod identity on another node, a foreign SAN and a missing token',
  async (t) => {
    const ca = bindClient(IstioCertificateService, channel());
    const echo = parseIdentity('spiffe://cluster.local/ns/demo/sa/echo');
    const keys = await generateKeyPair();
    const onOtherNode = ca.createCertificate(
      { csr: await createCsr(echo, keys), metadata: { ImpersonatedIdentity: echo } },
      { metadata: bearer('ztunnel-node-1') },
    );
    t.equal(await statusOf(onOtherNode), grpc.status.PERMISSION_DENIED);

    const foreign = ca.createCertificate(
      { csr: await createCsr(echo, keys) },
      { metadata: bearer('sleep-token') },
    );
    t.equal(await statusOf(foreign), grpc.status.PERMISSION_DENIED);

    const anonymous = ca.createCertificate({ csr: await createCsr(echo, keys) }, {});
    t.equal(await statusOf(anonymous), grpc.status.UNAUTHENTICATED);
  },
);

t.test('SIGTERM stops the control plane cleanly', async (t) => {
  t.equal(await controlPlane.stop(), 0);
});
