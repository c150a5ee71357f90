import t from 'tap';
import { captureRuleSet, removalRuleSet } from './ruleset.js';

// Istio's in-pod rules (cni/pkg/iptables/iptables.go AppendInpodRules), as iptables-save
// prints them.
const FRESH_V4 = `*mangle
:ISTIO_PRERT - [0:0]
:ISTIO_OUTPUT - [0:0]
-A PREROUTING -j ISTIO_PRERT
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_PRERT -m mark --mark 0x539/0xfff -j CONNMARK --set-xmark 0x111/0xfff
-A ISTIO_OUTPUT -m connmark --mark 0x111/0xfff -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff
COMMIT
*nat
:ISTIO_PRERT - [0:0]
:ISTIO_OUTPUT - [0:0]
-A PREROUTING -j ISTIO_PRERT
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_PRERT -s 169.254.7.127/32 -p tcp -m tcp -j ACCEPT
-A ISTIO_PRERT ! -d 127.0.0.1/32 -p tcp -m tcp ! --dport 15008 -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15006
-A ISTIO_OUTPUT -d 169.254.7.127/32 -p tcp -m tcp -j ACCEPT
-A ISTIO_OUTPUT -p tcp -m mark --mark 0x111/0xfff -j ACCEPT
-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -o lo -j ACCEPT
-A ISTIO_OUTPUT ! -d 127.0.0.1/32 -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001
COMMIT
`;

t.test('a fresh netns gets both chains in mangle and nat and one jump to each', async (t) => {
  t.equal(captureRuleSet(4), FRESH_V4);
});

t.test('the IPv6 set uses the IPv6 probe source and loopback', async (t) => {
  t.equal(
    captureRuleSet(6),
    FRESH_V4.replaceAll(
      '169.254.7.127/32',
      'fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128',
    ).replaceAll('127.0.0.1/32', '::1/128'),
  );
});

t.test('jumps already present are not appended again, and duplicates are deleted', async (t) => {
  const current = `*mangle
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:ISTIO_PRERT - [0:0]
-A PREROUTING -j ISTIO_PRERT
-A PREROUTING -j OTHER
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -j ISTIO_PRERT
-A OUTPUT -j ISTIO_OUTPUT
-A OUTPUT -j ISTIO_OUTPUT
-A OUTPUT -j ISTIO_OUTPUT
COMMIT
`;
  const jumps = captureRuleSet(4, current)
    .split('\n')
    .filter((line) => /^(\*|-[AD] (PREROUTING|OUTPUT) )/.test(line));
  t.same(jumps, [
    '*mangle',
    '-A OUTPUT -j ISTIO_OUTPUT',
    '*nat',
    '-D OUTPUT -j ISTIO_OUTPUT',
    '-D OUTPUT -j ISTIO_OUTPUT',
  ]);
});

t.test('removal deletes each jump it finds and the chains that exist', async (t) => {
  const current = `*mangle
:ISTIO_OUTPUT - [0:0]
-A OUTPUT -j ISTIO_OUTPUT
-A OUTPUT -j ISTIO_OUTPUT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
COMMIT
`;
  t.equal(
    removalRuleSet(current),
    `*mangle
-D OUTPUT -j ISTIO_OUTPUT
-D OUTPUT -j ISTIO_OUTPUT
-F ISTIO_OUTPUT
-X ISTIO_OUTPUT
COMMIT
`,
  );
});

t.test('removal from a netns without our rules is empty', async (t) => {
  t.equal(removalRuleSet(''), '');
  t.equal(removalRuleSet('*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j OTHER\nCOMMIT\n'), '');
});
