import { randomBytes } from 'node:crypto';
import t from 'tap';
import type { Test } from 'tap';
import { createRegistry, type Registry } from '../telemetry/metrics.js';
import { silentLogger } from '../telemetry/log.js';
import { waitFor } from '../xds/testing/wait.js';
import { certificatePem, leafIdentity } from './certificate.js';
import type { IssuedCredentials } from './credentials.js';
import { generateKeyPair } from './csr.js';
import { exportPrivateKeyPem } from './keys.js';
import {
  CertificateNotTrackedError,
  CertificateUnavailableError,
  SecretManager,
  type SecretManagerOptions,
} from './secret-manager.js';
import { parseIdentity, type Identity } from './spiffe.js';
import { ECDSA_SHA256, x509 } from './x509.js';

const sleep = parseIdentity('spiffe://cluster.local/ns/demo/sa/sleep');
const echo = parseIdentity('spiffe://cluster.local/ns/demo/sa/echo');

/**
 * A real self-signed workload certificate valid from now for `lifetimeMs`. The returned
 * dates keep millisecond precision (X.509 stores seconds), so lifetimes can be short.
 */
async function mint(identity: Identity, lifetimeMs: number): Promise<IssuedCredentials> {
  const keys = await generateKeyPair();
  const notBefore = new Date();
  const notAfter = new Date(notBefore.getTime() + lifetimeMs);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: '',
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: identity }], true),
    ],
  });
  const pem = certificatePem(cert);
  return {
    identity,
    chain: [pem],
    key: await exportPrivateKeyPem(keys.privateKey),
    roots: pem,
    notBefore,
    notAfter,
  };
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** An injected CA: records each call and answers it as `answer` says. */
class FakeIssuer {
  readonly calls: { identity: Identity; at: number }[] = [];

  constructor(readonly answer: (call: number, identity: Identity) => Promise<IssuedCredentials>) {}

  readonly issue = (identity: Identity): Promise<IssuedCredentials> => {
    this.calls.push({ identity, at: Date.now() });
    return this.answer(this.calls.length, identity);
  };

  count(identity: Identity): number {
    return this.calls.filter((c) => c.identity === identity).length;
  }
}

function manager(
  t: Test,
  issuer: FakeIssuer,
  options: Partial<SecretManagerOptions> = {},
): { secrets: SecretManager; registry: Registry } {
  const registry = createRegistry();
  const secrets = new SecretManager({
    issue: issuer.issue,
    logger: silentLogger(),
    registry,
    ...options,
  });
  t.teardown(() => secrets.close());
  return { secrets, registry };
}

async function metricValue(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === name);
  return metric?.values.find((v) =>
    Object.entries(labels).every(([k, value]) => v.labels[k] === value),
  )?.value;
}

const failure = (): Promise<never> => Promise.reject(new Error('CA unavailable'));

t.test('concurrent gets while the first certificate is fetched share one request', async (t) => {
  const first = deferred<IssuedCredentials>();
  const issuer = new FakeIssuer(() => first.promise);
  const { secrets, registry } = manager(t, issuer);

  secrets.track(sleep);
  t.equal(secrets.current(sleep), undefined, 'nothing to serve before the first issue');
  t.same(secrets.certificates(), [{ identity: sleep, state: 'pending' }]);
  const gets = [secrets.get(sleep), secrets.get(sleep), secrets.get(sleep)];
  const issued = await mint(sleep, 60_000);
  first.resolve(issued);
  const results = await Promise.all(gets);

  t.equal(issuer.calls.length, 1, 'one request to the CA');
  for (const result of results) t.equal(result, issued);
  t.equal(secrets.current(sleep), issued);
  t.equal(leafIdentity(secrets.current(sleep)!.chain), sleep);
  t.equal(
    await metricValue(registry, 'ambit_certificate_requests_total', { result: 'success' }),
    1,
  );
  t.equal(
    await metricValue(registry, 'ambit_certificate_expiry_timestamp_seconds', { identity: sleep }),
    issued.notAfter.getTime() / 1000,
  );
});

t.test('tracking is reference counted and get refuses an untracked identity', async (t) => {
  const issuer = new FakeIssuer((_, identity) => mint(identity, 60_000));
  const { secrets, registry } = manager(t, issuer);

  await t.rejects(secrets.get(sleep), CertificateNotTrackedError);
  secrets.track(sleep);
  secrets.track(sleep);
  await secrets.get(sleep);
  secrets.untrack(sleep);
  t.ok(secrets.current(sleep), 'still served while one user remains');
  secrets.untrack(sleep);
  t.equal(secrets.current(sleep), undefined, 'forgotten after the last user');
  t.same(secrets.certificates(), []);
  t.equal(issuer.calls.length, 1, 'the second track did not fetch again');
  t.equal(
    await metricValue(registry, 'ambit_certificate_expiry_timestamp_seconds', { identity: sleep }),
    undefined,
    'the expiry series of a forgotten identity is removed',
  );
});

t.test(
  'renewal starts at half-life and the old certificate serves until the new one arrives',
  async (t) => {
    const renewal = deferred<IssuedCredentials>();
    const issuer = new FakeIssuer((call, identity) =>
      call === 1 ? mint(identity, 1000) : renewal.promise,
    );
    const { secrets } = manager(t, issuer);

    secrets.track(sleep);
    const old = (await secrets.get(sleep)) as IssuedCredentials;
    await waitFor('the renewal request', () => issuer.calls.length === 2);
    const lifetime = old.notAfter.getTime() - old.notBefore.getTime();
    t.ok(
      issuer.calls[1]!.at >= old.notBefore.getTime() + lifetime / 2,
      'not renewed before half-life',
    );
    t.equal(secrets.current(sleep), old, 'the old certificate still serves');
    t.equal(await secrets.get(sleep), old, 'get does not wait for a renewal');
    t.equal(secrets.certificates()[0]?.state, 'renewing');

    const renewed = await mint(sleep, 60_000);
    renewal.resolve(renewed);
    await waitFor('the renewed certificate', () => secrets.current(sleep) === renewed);
    t.match(secrets.certificates(), [
      { identity: sleep, state: 'ready', notAfter: renewed.notAfter.toISOString() },
    ]);
  },
);

t.test(
  'a failed renewal is retried with growing jittered delays while the old certificate serves',
  async (t) => {
    const issuer = new FakeIssuer((call, identity) =>
      call === 2 || call === 3 ? failure() : mint(identity, call === 1 ? 1000 : 60_000),
    );
    const { secrets, registry } = manager(t, issuer, { backoff: { initialMs: 40, maxMs: 1000 } });

    secrets.track(sleep);
    const old = await secrets.get(sleep);
    await waitFor('the first retry', () => issuer.calls.length === 3);
    t.equal(secrets.current(sleep), old, 'the old certificate serves while renewal fails');
    t.equal(secrets.certificates()[0]?.state, 'renewing');
    await waitFor('the second retry', () => issuer.calls.length === 4);
    await waitFor('the renewed certificate', () => secrets.current(sleep) !== old);

    const [, second, third, fourth] = issuer.calls.map((c) => c.at);
    // Equal jitter: each delay is at least half its step, and the step doubles (40, then 80).
    t.ok(third! - second! >= 20, `first retry after ${third! - second!} ms, want ≥ 20`);
    t.ok(fourth! - third! >= 40, `second retry after ${fourth! - third!} ms, want ≥ 40`);
    t.ok(secrets.current(sleep));
    t.equal(secrets.certificates()[0]?.state, 'ready');
    t.equal(
      await metricValue(registry, 'ambit_certificate_requests_total', { result: 'failure' }),
      2,
    );
    t.equal(
      await metricValue(registry, 'ambit_certificate_requests_total', { result: 'success' }),
      2,
    );
  },
);

t.test(
  'an expired certificate is no longer served, and serving resumes once the CA answers',
  async (t) => {
    let caUp = true;
    const issuer = new FakeIssuer((_, identity) => (caUp ? mint(identity, 300) : failure()));
    const { secrets } = manager(t, issuer, { backoff: { initialMs: 20, maxMs: 40 } });

    secrets.track(sleep);
    const old = (await secrets.get(sleep)) as IssuedCredentials;
    caUp = false;
    await waitFor('the certificate to expire', () => secrets.current(sleep) === undefined);
    t.ok(Date.now() >= old.notAfter.getTime(), 'served until it expired, not before');
    t.ok(issuer.calls.length > 2, 'renewal was retried meanwhile');
    const error = await secrets.get(sleep).then(
      () => undefined,
      (err: unknown) => err,
    );
    t.type(error, CertificateUnavailableError);
    t.match((error as Error).cause, { message: 'CA unavailable' });
    t.equal(secrets.certificates()[0]?.state, 'failed');

    caUp = true;
    await waitFor('a new certificate', () => secrets.current(sleep) !== undefined);
    t.not(secrets.current(sleep), old);
  },
);

t.test('untracking stops renewal', async (t) => {
  const issuer = new FakeIssuer((_, identity) => mint(identity, 200));
  const { secrets } = manager(t, issuer);

  secrets.track(sleep);
  secrets.track(echo);
  await Promise.all([secrets.get(sleep), secrets.get(echo)]);
  secrets.untrack(sleep);
  // echo's certificate has the same lifetime: once it has been renewed twice, sleep's would
  // have been too.
  await waitFor('echo renewed twice', () => issuer.count(echo) >= 3);
  t.equal(issuer.count(sleep), 1, 'no request for the untracked identity');
  t.same(
    secrets.certificates().map((c) => c.identity),
    [echo],
  );
});

t.test('close stops every renewal', async (t) => {
  const issuer = new FakeIssuer((_, identity) => mint(identity, 200));
  const clock = new FakeIssuer((_, identity) => mint(identity, 200));
  const { secrets } = manager(t, issuer);
  const { secrets: other } = manager(t, clock);

  secrets.track(sleep);
  other.track(sleep);
  await Promise.all([secrets.get(sleep), other.get(sleep)]);
  secrets.close();
  await waitFor('the other manager to renew twice', () => clock.calls.length >= 3);
  t.equal(issuer.calls.length, 1);
});

t.test('/config_dump sees identities and validity, never keys', async (t) => {
  const issuer = new FakeIssuer((_, identity) => mint(identity, 60_000));
  const { secrets } = manager(t, issuer);
  secrets.track(sleep);
  const issued = (await secrets.get(sleep)) as IssuedCredentials;
  t.same(secrets.certificates(), [
    {
      identity: sleep,
      notBefore: issued.notBefore.toISOString(),
      notAfter: issued.notAfter.toISOString(),
      state: 'ready',
    },
  ]);
  t.notMatch(JSON.stringify(secrets.certificates()), /BEGIN/);
});

t.test('renewAt outside (0, 1) is refused', async (t) => {
  const issuer = new FakeIssuer((_, identity) => mint(identity, 60_000));
  t.throws(
    () =>
      new SecretManager({
        issue: issuer.issue,
        logger: silentLogger(),
        registry: createRegistry(),
        renewAt: 1,
      }),
    RangeError,
  );
});
