import t from 'tap';
import {
  DEFAULT_TRUST_DOMAIN,
  identityOf,
  identityParts,
  InvalidIdentityError,
  parseIdentity,
  parseTrustDomain,
} from './spiffe.js';

t.test('an Istio workload identity parses and splits into its parts', async (t) => {
  const id = parseIdentity('spiffe://cluster.local/ns/bookinfo/sa/bookinfo-reviews');
  t.same(identityParts(id), {
    trustDomain: 'cluster.local',
    namespace: 'bookinfo',
    serviceAccount: 'bookinfo-reviews',
  });
});

t.test('identityOf builds the same identity a certificate carries', async (t) => {
  const id = identityOf({
    trustDomain: DEFAULT_TRUST_DOMAIN,
    namespace: 'istio-system',
    serviceAccount: 'ztunnel',
  });
  t.equal(id, 'spiffe://cluster.local/ns/istio-system/sa/ztunnel');
  t.equal(parseIdentity(id), id);
});

t.test(
  'identities that are not spiffe://<td>/ns/<ns>/sa/<sa> are refused with the reason',
  async (t) => {
    const cases: [string, RegExp][] = [
      ['http://cluster.local/ns/a/sa/b', /does not start with spiffe:\/\//],
      ['spiffe://cluster.local', /has no path/],
      ['spiffe:///ns/a/sa/b', /trust domain is empty/],
      ['spiffe://Cluster.Local/ns/a/sa/b', /trust domain .* lowercase/],
      ['spiffe://cluster.local/ns/a', /not \/ns\/<namespace>\/sa\/<service-account>/],
      ['spiffe://cluster.local/sa/b/ns/a', /not \/ns\/<namespace>\/sa\/<service-account>/],
      ['spiffe://cluster.local/ns/a/sa/b/extra', /not \/ns\/<namespace>\/sa\/<service-account>/],
      ['spiffe://cluster.local/ns//sa/b', /namespace is empty/],
      ['spiffe://cluster.local/ns/a/sa/..', /service account may not be/],
      ['spiffe://cluster.local/ns/a/sa/b?x=1', /service account .* may only hold/],
      ['spiffe://cluster.local:8080/ns/a/sa/b', /trust domain .* may only hold/],
      [`spiffe://cluster.local/ns/a/sa/${'b'.repeat(2048)}`, /longer than 2048/],
    ];
    for (const [value, reason] of cases) {
      t.throws(
        () => parseIdentity(value),
        { name: InvalidIdentityError.name, code: 'AMBIT_INVALID_IDENTITY', value, reason },
        value.slice(0, 60),
      );
    }
  },
);

t.test('identityOf refuses a part that would break the identity', async (t) => {
  t.throws(
    () => identityOf({ trustDomain: 'cluster.local', namespace: 'a/b', serviceAccount: 'c' }),
    { code: 'AMBIT_INVALID_IDENTITY' },
  );
});

t.test('a trust domain parses only in its lowercase DNS-like form', async (t) => {
  t.equal(parseTrustDomain('example.org'), 'example.org');
  t.throws(() => parseTrustDomain('Example.org'), { code: 'AMBIT_INVALID_IDENTITY' });
  t.throws(() => parseTrustDomain(''), { code: 'AMBIT_INVALID_IDENTITY' });
});
