import { X509Certificate } from 'node:crypto';
import t from 'tap';
import { describeChain } from '../certificate.js';
import { importPrivateKeyPem, keyMatchesPublicKey } from '../keys.js';
import { identityOf } from '../spiffe.js';
import { createTestCa } from './ca.js';

const identity = identityOf({
  trustDomain: 'cluster.local',
  namespace: 'ns',
  serviceAccount: 'sa',
});

t.test('a leaf carries the identity as its only SAN, signed by the root', async (t) => {
  const ca = await createTestCa();
  const credentials = await ca.issue(identity);
  const [leaf, root] = describeChain(credentials.chain);
  t.equal(leaf?.identity, identity);
  t.same(leaf?.uris, [identity]);
  t.same([...(leaf?.dnsNames ?? []), ...(leaf?.ipAddresses ?? [])], []);
  t.equal(leaf?.isCa, false);
  t.equal(root?.isCa, true);
  t.equal(credentials.roots, credentials.chain[1]);
  const leafCert = new X509Certificate(credentials.chain[0] ?? '');
  const rootCert = new X509Certificate(ca.roots);
  t.ok(leafCert.checkIssued(rootCert) && leafCert.verify(rootCert.publicKey), 'the root signed it');
  // node:crypto prints the EKU as OIDs: serverAuth and clientAuth.
  t.same(leafCert.keyUsage?.sort(), ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
  const key = await importPrivateKeyPem(credentials.key);
  t.ok(keyMatchesPublicKey(key, leafCert.publicKey.export({ format: 'der', type: 'spki' })));
});

t.test(
  'notAfter in the past makes an expired certificate that still starts before it ends',
  async (t) => {
    const ca = await createTestCa();
    const notAfter = new Date(Date.now() - 60_000);
    const credentials = await ca.issue(identity, { notAfter });
    const [leaf] = describeChain(credentials.chain);
    t.equal(leaf?.notAfter.getTime(), Math.floor(notAfter.getTime() / 1000) * 1000);
    t.ok((leaf?.notBefore.getTime() ?? Infinity) < notAfter.getTime());
  },
);

t.test("a CA for another trust domain does not verify the first CA's leaves", async (t) => {
  const ca = await createTestCa();
  const other = await createTestCa('other.example');
  t.equal(other.trustDomain, 'other.example');
  t.match(new X509Certificate(other.roots).subject, /O=other\.example/);
  const leaf = new X509Certificate((await ca.issue(identity)).chain[0] ?? '');
  t.notOk(leaf.verify(new X509Certificate(other.roots).publicKey));
});
