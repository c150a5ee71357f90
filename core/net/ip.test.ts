import t from 'tap';
import { canonicalIp, cidrContains, ipFromBytes, parseIp } from './ip.js';

t.test('bytes become the text inet_ntop writes', async (t) => {
  const cases: [number[], string | undefined][] = [
    [[10, 1, 0, 5], '10.1.0.5'],
    [[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5], 'fd00::5'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [new Array<number>(16).fill(0), '::'],
    // One zero group alone is not shortened; of two equal runs the first is.
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1], '2001:db8:0:1:1:1:1:1'],
    [[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1], '2001:db8::1:0:0:1'],
    [[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0, 5], '::ffff:10.1.0.5'],
    [[1, 2, 3], undefined],
  ];
  for (const [bytes, text] of cases)
    t.equal(ipFromBytes(Uint8Array.from(bytes)), text, String(text));
});

t.test('text round-trips through bytes in canonical form', async (t) => {
  t.equal(canonicalIp('FD00:0:0:0:0:0:0:5'), 'fd00::5');
  t.equal(canonicalIp('::ffff:10.1.0.5'), '10.1.0.5', 'IPv4-mapped becomes IPv4');
  t.equal(canonicalIp('10.1.0.5'), '10.1.0.5');
  t.equal(canonicalIp('reviews'), undefined);
  t.equal(canonicalIp(''), undefined);
  t.strictSame([...(parseIp('::ffff:1.2.3.4') ?? [])].slice(10), [0xff, 0xff, 1, 2, 3, 4]);
});

t.test('a block holds addresses of its own family under its prefix', async (t) => {
  const bytes = (s: string) => parseIp(s) ?? new Uint8Array();
  t.ok(cidrContains({ address: '10.0.0.0', length: 8 }, bytes('10.200.3.4')));
  t.notOk(cidrContains({ address: '10.0.0.0', length: 8 }, bytes('11.0.0.1')));
  t.ok(cidrContains({ address: '10.1.0.7', length: 30 }, bytes('10.1.0.5')), 'host bits ignored');
  t.notOk(cidrContains({ address: '10.1.0.4', length: 31 }, bytes('10.1.0.6')));
  t.ok(cidrContains({ address: '0.0.0.0', length: 0 }, bytes('192.0.2.1')));
  t.notOk(cidrContains({ address: '0.0.0.0', length: 0 }, bytes('::1')), 'not across families');
  t.ok(cidrContains({ address: 'fd00::', length: 16 }, bytes('fd00:1::9')));
  t.notOk(cidrContains({ address: 'fd00::', length: 16 }, bytes('fd01::9')));
});
