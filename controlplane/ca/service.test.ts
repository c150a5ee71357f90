import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import t from 'tap';
import type { Test } from 'tap';
import { IstioCertificateService } from '../../api/gen/istio/v1/auth/ca_pb.js';
import { bindClient, GrpcCallError, type ServiceClient } from '../../api/grpc/service.js';
import { describeChain } from '../../core/identity/certificate.js';
import { createCsr, generateKeyPair } from '../../core/identity/csr.js';
import { encodePem, pemBlocks } from '../../core/identity/pem.js';
import { DEFAULT_TRUST_DOMAIN, parseIdentity, type Identity } from '../../core/identity/spiffe.js';
import { createLogger } from '../../core/telemetry/log.js';
import { createRegistry, type Registry } from '../../core/telemetry/metrics.js';
import { StaticTokenAuthenticator } from '../auth/static-tokens.js';
import { CertificateAuthority } from './authority.js';
import type { PodLocator } from './impersonation.js';
import { CertificateService } from './service.js';
import { issueServingCertificate } from './serving.js';
import { loadSelfSignedCa } from './store.js';

const run = promisify(execFile);
const HOUR = 60 * 60 * 1000;
const ztunnel = parseIdentity('spiffe://cluster.local/ns/istio-system/sa/ztunnel');
const sleep = parseIdentity('spiffe://cluster.local/ns/default/sa/sleep');
const productpage = parseIdentity('spiffe://cluster.local/ns/bookinfo/sa/bookinfo-productpage');
const reviews = parseIdentity('spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews');

const TOKENS = {
  ztunnelNode1: 'ztunnel-node-1-0f3a9c',
  sleep: 'sleep-7d1e22',
};

/** Pods by node, as the control-plane model would report them. */
class PodsByNode implements PodLocator {
  constructor(private readonly pods: Record<string, Identity[]>) {}
  hasPodOnNode(node: string, identity: Identity): boolean {
    return this.pods[node]?.includes(identity) ?? false;
  }
}

type CaClient = ServiceClient<(typeof IstioCertificateService)['method']>;

interface RunningCa {
  client: CaClient;
  registry: Registry;
  rootPem: string;
  logs: string[];
}

/**
 * The CA service as the control plane runs it: a root in a state directory, a grpc-js server
 * on 127.0.0.1:0 with TLS from its own serving certificate, a client trusting the root.
 */
async function startCa(t: Test): Promise<RunningCa> {
  const stateDir = await mkdtemp(join(tmpdir(), 'ambit-ca-service-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const logs: string[] = [];
  const logger = createLogger('ca', {
    level: 'info',
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString());
        done();
      },
    }),
  });
  const material = await loadSelfSignedCa({ stateDir, trustDomain: DEFAULT_TRUST_DOMAIN, logger });
  const authority = new CertificateAuthority(material, { maxTtlMs: 24 * HOUR });
  const serving = await issueServingCertificate(authority);
  const registry = createRegistry();
  const service = new CertificateService({
    authority,
    authenticator: new StaticTokenAuthenticator([
      { token: TOKENS.ztunnelNode1, caller: { identity: ztunnel, node: 'node-1' } },
      { token: TOKENS.sleep, caller: { identity: sleep } },
    ]),
    podLocator: new PodsByNode({ 'node-1': [productpage, sleep], 'node-2': [reviews] }),
    trustDomain: DEFAULT_TRUST_DOMAIN,
    logger,
    registry,
  });
  const server = new grpc.Server();
  service.register(server);
  const credentials = grpc.ServerCredentials.createSsl(
    null,
    [{ private_key: Buffer.from(serving.keyPem), cert_chain: Buffer.from(serving.certChainPem) }],
    false,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
  // TLS server names are DNS names (RFC 6066), so the client checks the certificate's
  // `localhost` SAN while it connects to 127.0.0.1.
  const channel = new grpc.Client(
    `127.0.0.1:${port}`,
    grpc.credentials.createSsl(Buffer.from(serving.rootCertPem)),
    { 'grpc.ssl_target_name_override': 'localhost' },
  );
  t.teardown(() => {
    channel.close();
    server.forceShutdown();
  });
  return {
    client: bindClient(IstioCertificateService, channel),
    registry,
    rootPem: serving.rootCertPem,
    logs,
  };
}

function bearer(token: string): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

async function csrFor(identity: Identity): Promise<string> {
  return createCsr(identity, await generateKeyPair());
}

/** Requests counted so far by result, leaving out results never seen. */
async function counted(registry: Registry): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric('ambit_ca_requests_total');
  if (metric === undefined) return {};
  const { values } = await metric.get();
  return Object.fromEntries(
    values.filter((v) => v.value > 0).map((v) => [String(v.labels.result), v.value]),
  );
}

/** The gRPC status a call failed with. */
async function statusOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'OK';
  } catch (err) {
    if (err instanceof GrpcCallError) return grpc.status[err.status];
    throw err;
  }
}

t.test('a workload gets a certificate for its own identity that openssl verifies', async (t) => {
  const ca = await startCa(t);
  const started = Date.now();
  const response = await ca.client.createCertificate(
    { csr: await csrFor(sleep), validityDuration: 3600n },
    { metadata: bearer(TOKENS.sleep) },
  );
  t.equal(response.certChain.length, 2, 'leaf then root');
  t.equal(response.certChain[1], ca.rootPem);

  const dir = await mkdtemp(join(tmpdir(), 'ambit-ca-chain-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'root.pem'), response.certChain[1] ?? '');
  await writeFile(join(dir, 'leaf.pem'), response.certChain[0] ?? '');
  const { stdout } = await run('openssl', [
    'verify',
    '-CAfile',
    join(dir, 'root.pem'),
    join(dir, 'leaf.pem'),
  ]);
  t.match(stdout, /leaf\.pem: OK/);
  const text = await run('openssl', [
    'x509',
    '-in',
    join(dir, 'leaf.pem'),
    '-noout',
    '-ext',
    'subjectAltName',
  ]);
  t.match(text.stdout, /URI:spiffe:\/\/cluster\.local\/ns\/default\/sa\/sleep/);

  const [leaf] = describeChain(response.certChain);
  const lifetime = (leaf?.notAfter.getTime() ?? 0) - started;
  t.ok(lifetime > HOUR - 5000 && lifetime <= HOUR + 1000, `lifetime ${lifetime} ms is 1 h`);
  t.same(await counted(ca.registry), { issued: 1 });
  t.ok(ca.logs.some((line) => /"msg":"certificate issued"/.test(line) && line.includes(sleep)));
});

t.test('a lifetime above the maximum is cut to the maximum', async (t) => {
  const ca = await startCa(t);
  const started = Date.now();
  const response = await ca.client.createCertificate(
    { csr: await csrFor(sleep), validityDuration: BigInt(7 * 24 * 3600) },
    { metadata: bearer(TOKENS.sleep) },
  );
  const lifetime = (describeChain(response.certChain)[0]?.notAfter.getTime() ?? 0) - started;
  t.ok(
    lifetime > 24 * HOUR - 5000 && lifetime <= 24 * HOUR + 1000,
    `lifetime ${lifetime} ms is 24 h`,
  );
});

t.test("a CSR for someone else's identity is PERMISSION_DENIED", async (t) => {
  const ca = await startCa(t);
  const call = ca.client.createCertificate(
    { csr: await csrFor(productpage) },
    { metadata: bearer(TOKENS.sleep) },
  );
  t.equal(await statusOf(call), 'PERMISSION_DENIED');
  t.same(await counted(ca.registry), { foreign_identity: 1 });
  t.ok(
    ca.logs.some((line) => /"result":"foreign_identity"/.test(line) && /"level":"warn"/.test(line)),
  );
});

t.test('a CSR whose signature was tampered with is INVALID_ARGUMENT', async (t) => {
  const ca = await startCa(t);
  const [block] = pemBlocks(await csrFor(sleep));
  if (block === undefined) throw new Error('no CSR block');
  const der = Uint8Array.from(block.der);
  der[der.length - 1] = (der[der.length - 1] ?? 0) ^ 0x01;
  const call = ca.client.createCertificate(
    { csr: encodePem(der, block.type) },
    { metadata: bearer(TOKENS.sleep) },
  );
  t.equal(await statusOf(call), 'INVALID_ARGUMENT');
  const garbage = ca.client.createCertificate({ csr: 'hello' }, { metadata: bearer(TOKENS.sleep) });
  t.equal(await statusOf(garbage), 'INVALID_ARGUMENT');
  t.same(await counted(ca.registry), { invalid_request: 2 });
});

t.test('a request without a token or with an unknown one is UNAUTHENTICATED', async (t) => {
  const ca = await startCa(t);
  const csr = await csrFor(sleep);
  t.equal(await statusOf(ca.client.createCertificate({ csr })), 'UNAUTHENTICATED');
  t.equal(
    await statusOf(ca.client.createCertificate({ csr }, { metadata: bearer('guessed-token-123') })),
    'UNAUTHENTICATED',
  );
  t.same(await counted(ca.registry), { no_token: 1, bad_token: 1 });
  const refusals = ca.logs.filter((line) => /certificate request refused/.test(line));
  t.equal(refusals.length, 2, 'each refusal logged');
  t.notOk(
    ca.logs.some((line) => line.includes('guessed-token-123')),
    'no token in the logs',
  );
  t.notOk(
    ca.logs.some((line) => /PRIVATE KEY/.test(line)),
    'no key in the logs',
  );
});

t.test('a node tunnel gets the certificate of a pod on its node', async (t) => {
  const ca = await startCa(t);
  const response = await ca.client.createCertificate(
    { csr: await csrFor(productpage), metadata: { ImpersonatedIdentity: productpage } },
    { metadata: bearer(TOKENS.ztunnelNode1) },
  );
  t.equal(describeChain(response.certChain)[0]?.identity, productpage);
  t.same(await counted(ca.registry), { issued: 1 });
});

t.test(
  'a node tunnel is refused a pod on another node, and a workload any impersonation',
  async (t) => {
    const ca = await startCa(t);
    const otherNode = ca.client.createCertificate(
      { csr: await csrFor(reviews), metadata: { ImpersonatedIdentity: reviews } },
      { metadata: bearer(TOKENS.ztunnelNode1) },
    );
    t.equal(await statusOf(otherNode), 'PERMISSION_DENIED');
    const notATunnel = ca.client.createCertificate(
      { csr: await csrFor(productpage), metadata: { ImpersonatedIdentity: productpage } },
      { metadata: bearer(TOKENS.sleep) },
    );
    t.equal(await statusOf(notATunnel), 'PERMISSION_DENIED');
    // The impersonated identity is granted, but the CSR asks for another one.
    const wrongCsr = ca.client.createCertificate(
      { csr: await csrFor(reviews), metadata: { ImpersonatedIdentity: productpage } },
      { metadata: bearer(TOKENS.ztunnelNode1) },
    );
    t.equal(await statusOf(wrongCsr), 'PERMISSION_DENIED');
    const malformed = ca.client.createCertificate(
      { csr: await csrFor(productpage), metadata: { ImpersonatedIdentity: 42 } },
      { metadata: bearer(TOKENS.ztunnelNode1) },
    );
    t.equal(await statusOf(malformed), 'INVALID_ARGUMENT');
    t.same(await counted(ca.registry), {
      impersonation_denied: 2,
      foreign_identity: 1,
      invalid_request: 1,
    });
  },
);

t.test('every result is exported from the start, at zero', async (t) => {
  const ca = await startCa(t);
  const text = await ca.registry.metrics();
  for (const result of [
    'issued',
    'no_token',
    'bad_token',
    'invalid_request',
    'foreign_identity',
    'impersonation_denied',
    'error',
  ]) {
    t.match(text, `ambit_ca_requests_total{result="${result}"} 0`);
  }
});
