import t from 'tap';
import {
  clusterNames,
  InvalidPrefixError,
  isNodeNetns,
  parsePrefix,
  prefixOfFirewallComment,
  prefixOfLink,
  prefixOfNetns,
  randomPrefix,
} from './names.js';

t.test('every name of a cluster carries its prefix and is found from it again', async (t) => {
  const prefix = randomPrefix();
  const names = clusterNames(prefix, '/run/x');
  t.equal(names.stateDir, `/run/x/${prefix}`);
  t.equal(prefixOfLink(names.bridge), prefix);
  t.equal(prefixOfLink(names.nodeLink(12)), prefix);
  t.equal(prefixOfNetns(names.nodeNetns(3)), prefix);
  t.equal(prefixOfNetns(names.podNetns('0123456789abcdef')), prefix);
  t.equal(prefixOfFirewallComment(names.firewallComment), prefix);
  t.ok(isNodeNetns(names.nodeNetns(3)));
  t.notOk(isNodeNetns(names.podNetns('0123456789abcdef')));
});

t.test('interface names fit Linux 15 characters for up to 999 nodes', async (t) => {
  const names = clusterNames(randomPrefix());
  for (const name of [names.bridge, names.nodeLink(999), names.podBridge(999)])
    t.ok(name.length <= 15, name);
});

t.test('names of other programs are not taken for a cluster', async (t) => {
  for (const name of ['eth0', 'docker0', 'amd64br', 'cni0', 'am1234-x', 'amabcd-p123'])
    t.equal(prefixOfLink(name) ?? prefixOfNetns(name), undefined, name);
  t.throws(() => parsePrefix('AMBIT1'), InvalidPrefixError);
});
