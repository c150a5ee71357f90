import t from 'tap';
import { formatAuthority, parseAuthority } from './authority.js';

t.test('an IPv4 or bracketed IPv6 address with a port parses', async (t) => {
  t.same(parseAuthority('10.1.2.3:8080'), { address: '10.1.2.3', port: 8080, family: 4 });
  t.same(parseAuthority('[fd00::1]:1'), { address: 'fd00::1', port: 1, family: 6 });
  t.same(parseAuthority('[::ffff:10.0.0.1]:65535'), {
    address: '::ffff:10.0.0.1',
    port: 65535,
    family: 6,
  });
});

t.test('hostnames, bad ports and malformed addresses do not parse', async (t) => {
  const bad = [
    '',
    '10.1.2.3',
    '10.1.2.3:',
    '10.1.2.3:0',
    '10.1.2.3:65536',
    '10.1.2.3:+80',
    '10.1.2.3:8o',
    '010.1.2.3:80',
    '10.1.2:80',
    'reviews:9080',
    'reviews.default.svc.cluster.local:9080',
    'fd00::1:80',
    '[fd00::1]',
    '[fd00::1%eth0]:80',
    '[10.1.2.3]:80',
    ' 10.1.2.3:80',
  ];
  for (const authority of bad)
    t.equal(parseAuthority(authority), undefined, JSON.stringify(authority));
});

t.test('formatting brackets IPv6 and round-trips through parsing', async (t) => {
  t.equal(formatAuthority({ address: '10.1.2.3', port: 80 }), '10.1.2.3:80');
  t.equal(formatAuthority({ address: 'fd00::1', port: 15008 }), '[fd00::1]:15008');
  for (const a of [
    { address: '10.1.2.3', port: 80 },
    { address: 'fd00::1', port: 15008 },
  ]) {
    t.match(parseAuthority(formatAuthority(a)), a);
  }
});
