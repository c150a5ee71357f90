import t from 'tap';
import { toJson } from '@bufbuild/protobuf';
import {
  AddressSchema,
  ServiceAccountMatchSchema,
  StringMatchSchema,
} from '../../api/gen/istio/security/authorization_pb.js';
import {
  toAddresses,
  toPorts,
  toServiceAccountMatches,
  toStringMatch,
} from './authorization-values.js';

const addressJson = (values: string[]) => toAddresses(values).map((a) => toJson(AddressSchema, a));

t.test(
  'principal and namespace patterns become exact, prefix, suffix and presence matches',
  async (t) => {
    t.strictSame(
      ['cluster.local/ns/a/sa/b', 'cluster.local/ns/a/*', '*/sa/b', '*', '*mid*'].map((p) =>
        toJson(StringMatchSchema, toStringMatch(p)),
      ),
      [
        { exact: 'cluster.local/ns/a/sa/b' },
        { prefix: 'cluster.local/ns/a/' },
        { suffix: '/sa/b' },
        { presence: {} },
        // Only one leading * is taken (Istio's stringToMatch).
        { suffix: 'mid*' },
      ],
    );
  },
);

t.test(
  'ports are decimal numbers up to 65535; names and out-of-range values are left out',
  async (t) => {
    t.strictSame(toPorts(['80', '08080', '65535', '65536', 'http', '-1', '']), [80, 8080, 65535]);
    t.strictSame(toPorts(undefined), []);
  },
);

t.test('IPv4 addresses are /32 and CIDR blocks keep their length and host bits', async (t) => {
  t.strictSame(addressJson(['10.1.2.3', '192.168.0.0/16', '10.0.0.1/8']), [
    { address: 'CgECAw==', length: 32 },
    { address: 'wKgAAA==', length: 16 },
    { address: 'CgAAAQ==', length: 8 },
  ]);
});

t.test('IPv6 addresses are 16 bytes, with :: and an embedded IPv4 tail expanded', async (t) => {
  const bytes = (v: string) => Buffer.from(toAddresses([v])[0]?.address ?? []).toString('hex');
  t.equal(bytes('2001:db8::1'), '20010db8000000000000000000000001');
  t.equal(bytes('::'), '00000000000000000000000000000000');
  t.equal(bytes('::ffff:10.1.2.3'), '00000000000000000000ffff0a010203');
  t.equal(bytes('fe80::1%eth0'), 'fe800000000000000000000000000001');
  t.strictSame(
    toAddresses(['2001:db8::/32', '::1']).map((a) => a.length),
    [32, 128],
  );
});

t.test('malformed IP blocks are left out', async (t) => {
  t.strictSame(
    toAddresses([
      '10.0.0.256',
      '10.0.0.0/33',
      '10.0.0.0/08',
      '2001:db8::/129',
      'fe80::1%eth0/64',
      'host',
      '',
    ]),
    [],
  );
});

t.test('a bare service account is in the policy namespace; ns/sa names its own', async (t) => {
  t.strictSame(
    toServiceAccountMatches(['sleep', 'other/curl'], 'foo').map((m) =>
      toJson(ServiceAccountMatchSchema, m),
    ),
    [
      { namespace: 'foo', serviceAccount: 'sleep' },
      { namespace: 'other', serviceAccount: 'curl' },
    ],
  );
});
