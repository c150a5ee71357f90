import t from 'tap';
import { parseIp as ipBytes } from '../../core/net/ip.js';
import { ipPrefix } from './address-bytes.js';

const bytes = (text: string) => [...(ipBytes(text) ?? [])];

t.test('IPv4 addresses are 4 bytes', async (t) => {
  t.same(bytes('10.0.0.1'), [10, 0, 0, 1]);
});

t.test('IPv6 addresses are 16 bytes, however they are written', async (t) => {
  t.same(bytes('fd00::a'), [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a]);
  t.same(bytes('::1'), [...Array<number>(15).fill(0), 1]);
  t.same(bytes('::'), Array<number>(16).fill(0));
  t.same(bytes('2001:db8:0:0:0:0:2:1'), [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1]);
  t.same(bytes('fe80::'), [0xfe, 0x80, ...Array<number>(14).fill(0)]);
});

t.test('an IPv4-mapped IPv6 address stays 16 bytes', async (t) => {
  t.same(bytes('::ffff:1.2.3.4'), [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
});

t.test('a hostname is not an address', async (t) => {
  t.equal(ipBytes('vm.example.com'), undefined);
});

t.test(
  'a CIDR block is its masked first address and its length; a single address has none',
  async (t) => {
    const block = ipPrefix('10.1.2.3/16');
    t.same([...(block?.address ?? [])], [10, 1, 0, 0]);
    t.equal(block?.length, 16);
    t.equal(ipPrefix('10.1.2.3/32')?.length, undefined);
    t.equal(ipPrefix('10.1.2.3')?.length, undefined);
    t.same(
      [...(ipPrefix('2001:db8::/33')?.address ?? [])].slice(0, 6),
      [0x20, 1, 0x0d, 0xb8, 0, 0],
    );
    t.equal(ipPrefix('10.0.0.0/33'), undefined);
  },
);
