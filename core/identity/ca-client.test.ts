import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import t from 'tap';
import type { Test } from 'tap';
import {
  IstioCertificateResponseSchema,
  IstioCertificateService,
  type IstioCertificateRequest,
} from '../../api/gen/istio/v1/auth/ca_pb.js';
import { addService, GrpcStatusError, unaryHandler } from '../../api/grpc/service.js';
import { silentLogger } from '../telemetry/log.js';
import { createTlsFixture } from '../xds/testing/tls.js';
import {
  CaClient,
  CertificateRequestError,
  CertificateResponseError,
  IMPERSONATED_IDENTITY,
  type CaClientOptions,
} from './ca-client.js';
import { certificatePem } from './certificate.js';
import { generateKeyPair, verifyCsr } from './csr.js';
import { parseIdentity } from './spiffe.js';
import { ECDSA_SHA256, x509 } from './x509.js';

// CaClient against a fake CreateCertificate server over real TLS: the fake signs whatever
// the CSR asks for (or what a test says) with a throwaway CA, so each test controls the answer.

const sleep = parseIdentity('spiffe://cluster.local/ns/demo/sa/sleep');
const echo = parseIdentity('spiffe://cluster.local/ns/demo/sa/echo');

const tls = await createTlsFixture('ca.ambit.test');
t.teardown(() => tls.remove());

const caKeys = await generateKeyPair();
const caCert = await x509.X509CertificateGenerator.createSelfSigned({
  serialNumber: '01',
  name: 'CN=fake-ca',
  notBefore: new Date(Date.now() - 60_000),
  notAfter: new Date(Date.now() + 3_600_000),
  keys: caKeys,
  signingAlgorithm: ECDSA_SHA256,
  extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
});
const caPem = certificatePem(caCert);

/** A leaf for the CSR's key carrying `identity` as its URI SAN, signed by the fake CA. */
async function sign(csr: string, identity: string, ttlSeconds: number): Promise<string> {
  const { publicKey } = await verifyCsr(csr);
  const now = Date.now();
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: randomBytes(8).toString('hex'),
    issuer: caCert.subjectName,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + ttlSeconds * 1000),
    publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identity }], true),
    ],
  });
  return certificatePem(leaf);
}

interface Received {
  request: IstioCertificateRequest;
  authorization: grpc.MetadataValue | undefined;
}

/** Starts a fake CA answering with `answer`; returns what it received and a client factory. */
async function fakeCa(
  t: Test,
  answer: (request: IstioCertificateRequest) => Promise<string[]>,
): Promise<{ received: Received[]; client: (options?: Partial<CaClientOptions>) => CaClient }> {
  const received: Received[] = [];
  const server = new grpc.Server();
  addService(server, IstioCertificateService, {
    createCertificate: unaryHandler(async (request, call) => {
      received.push({ request, authorization: call.metadata.get('authorization')[0] });
      return create(IstioCertificateResponseSchema, { certChain: await answer(request) });
    }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      '127.0.0.1:0',
      grpc.ServerCredentials.createSsl(null, [{ private_key: tls.key, cert_chain: tls.cert }]),
      (err, bound) => (err ? reject(err) : resolve(bound)),
    ),
  );
  t.teardown(() => server.forceShutdown());
  const client = (options: Partial<CaClientOptions> = {}): CaClient => {
    const ca = new CaClient({
      address: `127.0.0.1:${port}`,
      tls: { ca: tls.ca, servername: tls.servername },
      token: 'node-token',
      logger: silentLogger(),
      ...options,
    });
    t.teardown(() => ca.close());
    return ca;
  };
  return { received, client };
}

/** The identity the CSR asks for, signed as asked. */
async function honest(request: IstioCertificateRequest): Promise<string[]> {
  const { uris } = await verifyCsr(request.csr);
  return [await sign(request.csr, uris[0] ?? '', Number(request.validityDuration)), caPem];
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (err: unknown) => err,
  );
}

t.test(
  'an impersonated issue sends a CSR for the pod identity, the ttl and the bearer token',
  async (t) => {
    const { received, client } = await fakeCa(t, honest);
    const ca = client({ ttlSeconds: 3600 });

    const issued = await ca.issue(sleep, { impersonate: true });

    const [call] = received;
    t.equal(call?.authorization, 'Bearer node-token');
    t.equal(call?.request.validityDuration, 3600n);
    t.same(call?.request.metadata, { [IMPERSONATED_IDENTITY]: sleep });
    t.same((await verifyCsr(call!.request.csr)).uris, [sleep], 'the CSR asks for the identity');

    t.equal(issued.identity, sleep);
    t.equal(issued.chain.length, 2, 'leaf and root');
    t.equal(issued.roots, caPem, 'the root is the last certificate of the chain');
    const leaf = new X509Certificate(issued.chain[0]!);
    t.ok(leaf.checkPrivateKey(createPrivateKey(issued.key)), 'the key is the leaf key');
    t.match(issued.key, /^-----BEGIN PRIVATE KEY-----/);
    t.equal(issued.notAfter.getTime(), new Date(leaf.validTo).getTime());
    t.equal(issued.notBefore.getTime(), new Date(leaf.validFrom).getTime());
  },
);

t.test('without impersonation no metadata is sent, and the default ttl is 24h', async (t) => {
  const { received, client } = await fakeCa(t, honest);
  await client().issue(sleep);
  t.equal(received[0]?.request.metadata, undefined);
  t.equal(received[0]?.request.validityDuration, 86_400n);
});

t.test('every issue makes a new key', async (t) => {
  const { client } = await fakeCa(t, honest);
  const ca = client();
  const [a, b] = [await ca.issue(sleep), await ca.issue(sleep)];
  t.not(a.key, b.key);
  t.not(a.chain[0], b.chain[0]);
});

t.test('a token function is asked for every request', async (t) => {
  const { received, client } = await fakeCa(t, honest);
  let n = 0;
  const ca = client({ token: async () => `token-${++n}` });
  await ca.issue(sleep);
  await ca.issue(sleep);
  t.same(
    received.map((r) => r.authorization),
    ['Bearer token-1', 'Bearer token-2'],
  );
});

t.test('a failing token source fails the issue without a call', async (t) => {
  const { received, client } = await fakeCa(t, honest);
  const ca = client({
    token: () => {
      throw new Error('token file missing');
    },
  });
  const error = await rejection(ca.issue(sleep));
  t.type(error, CertificateRequestError);
  t.equal((error as CertificateRequestError).status, undefined);
  t.match((error as Error).cause, { message: 'token file missing' });
  t.equal(received.length, 0);
});

t.test('a refusal carries its gRPC status', async (t) => {
  const { client } = await fakeCa(t, async () => {
    throw new GrpcStatusError(grpc.status.PERMISSION_DENIED, 'no such pod on node-1');
  });
  const error = await rejection(client().issue(sleep, { impersonate: true }));
  t.type(error, CertificateRequestError);
  t.equal((error as CertificateRequestError).code, 'AMBIT_CERTIFICATE_REQUEST');
  t.equal((error as CertificateRequestError).status, grpc.status.PERMISSION_DENIED);
  t.match((error as Error).message, /sleep.*PERMISSION_DENIED: no such pod on node-1/);
});

t.test('a leaf for another identity than asked is refused', async (t) => {
  const { client } = await fakeCa(t, async (request) => [
    await sign(request.csr, echo, 3600),
    caPem,
  ]);
  const error = await rejection(client().issue(sleep));
  t.type(error, CertificateResponseError);
  t.match((error as Error).message, `carries URI SANs ${echo}`);
});

t.test('an empty or unparsable chain is refused', async (t) => {
  for (const chain of [[], ['not a certificate']]) {
    const { client } = await fakeCa(t, async () => chain);
    t.type(await rejection(client().issue(sleep)), CertificateResponseError, `chain ${chain}`);
  }
});

t.test(
  'a chain sent as one bundle is split, and a bare leaf is trusted via the configured CA',
  async (t) => {
    const bundled = await fakeCa(t, async (request) => [(await honest(request)).join('')]);
    const fromBundle = await bundled.client().issue(sleep);
    t.equal(fromBundle.chain.length, 2);
    t.equal(fromBundle.roots, caPem);

    const bare = await fakeCa(t, async (request) => [(await honest(request))[0]!]);
    const fromLeaf = await bare.client().issue(sleep);
    t.equal(fromLeaf.chain.length, 1);
    t.equal(fromLeaf.roots, tls.ca.toString(), 'the CA configured for the control plane');
  },
);
