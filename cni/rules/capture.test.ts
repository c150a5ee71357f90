import { Writable } from 'node:stream';
import t from 'tap';
import type { Test } from 'tap';
import { createLogger } from '../../core/telemetry/log.js';
import { CaptureRulesError, captureState, installCapture, removeCapture } from './capture.js';
import { inNetns, tempNetns } from './testing/netns.js';

/** The table headers, our chain declarations and every rule of an iptables-save dump. */
async function savedRules(netns: string, family: 4 | 6): Promise<string[]> {
  const saved = await inNetns(netns, family === 4 ? 'iptables-save' : 'ip6tables-save');
  return saved
    .split('\n')
    .filter((line) => line.startsWith('*') || line.startsWith(':ISTIO') || line.startsWith('-A '));
}

/** What iptables-save shows once the capture rules are in (it sorts chain declarations). */
function expectedRules(family: 4 | 6): string[] {
  const probe = family === 4 ? '169.254.7.127/32' : 'fd16:9254:7127:1337:ffff:ffff:ffff:ffff/128';
  const loopback = family === 4 ? '127.0.0.1/32' : '::1/128';
  return [
    '*mangle',
    ':ISTIO_OUTPUT - [0:0]',
    ':ISTIO_PRERT - [0:0]',
    '-A PREROUTING -j ISTIO_PRERT',
    '-A OUTPUT -j ISTIO_OUTPUT',
    '-A ISTIO_OUTPUT -m connmark --mark 0x111/0xfff -j CONNMARK --restore-mark --nfmask 0xffffffff --ctmask 0xffffffff',
    '-A ISTIO_PRERT -m mark --mark 0x539/0xfff -j CONNMARK --set-xmark 0x111/0xfff',
    '*nat',
    ':ISTIO_OUTPUT - [0:0]',
    ':ISTIO_PRERT - [0:0]',
    '-A PREROUTING -j ISTIO_PRERT',
    '-A OUTPUT -j ISTIO_OUTPUT',
    `-A ISTIO_OUTPUT -d ${probe} -p tcp -m tcp -j ACCEPT`,
    '-A ISTIO_OUTPUT -p tcp -m mark --mark 0x111/0xfff -j ACCEPT',
    `-A ISTIO_OUTPUT ! -d ${loopback} -o lo -j ACCEPT`,
    `-A ISTIO_OUTPUT ! -d ${loopback} -p tcp -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15001`,
    `-A ISTIO_PRERT -s ${probe} -p tcp -m tcp -j ACCEPT`,
    `-A ISTIO_PRERT ! -d ${loopback} -p tcp -m tcp ! --dport 15008 -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports 15006`,
  ];
}

/** Our `ip rule` and table-100 route, as `ip` prints them. */
async function routing(
  netns: string,
  family: 4 | 6,
): Promise<{ rules: string[]; routes: string[] }> {
  const lines = (text: string) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  const rules = lines(await inNetns(netns, 'ip', `-${family}`, 'rule', 'show'));
  return {
    rules: rules.filter((line) => line.startsWith('32764:')),
    routes: lines(await inNetns(netns, 'ip', `-${family}`, 'route', 'show', 'table', '100')),
  };
}

async function assertInstalled(t: Test, netns: string): Promise<void> {
  t.equal(await captureState(netns), 'installed');
  for (const family of [4, 6] as const) {
    t.same(await savedRules(netns, family), expectedRules(family), `IPv${family} rules`);
    const { rules, routes } = await routing(netns, family);
    t.same(rules, ['32764:\tfrom all fwmark 0x111/0xfff lookup 100'], `IPv${family} ip rule`);
    t.equal(routes.length, 1, `IPv${family} table 100 holds one route`);
    t.match(routes[0], /^local default dev lo /, `IPv${family} local default route`);
  }
}

t.test(
  'install puts exactly the capture rules, the mark rule and the route in both families',
  async (t) => {
    const { path } = await tempNetns(t);
    t.equal(await captureState(path), 'absent');
    await installCapture(path);
    await assertInstalled(t, path);
  },
);

t.test('installing twice leaves one jump of each kind and one ip rule', async (t) => {
  const { path } = await tempNetns(t);
  await installCapture(path);
  await installCapture(path);
  await assertInstalled(t, path);
});

t.test('remove leaves no chain, jump, ip rule or route, and may run again', async (t) => {
  const { path } = await tempNetns(t);
  await installCapture(path);
  await removeCapture(path);
  t.equal(await captureState(path), 'absent');
  for (const family of [4, 6] as const) {
    const saved = await inNetns(path, family === 4 ? 'iptables-save' : 'ip6tables-save');
    t.notMatch(saved, /ISTIO/, `no IPv${family} chains or jumps`);
    t.same(await routing(path, family), { rules: [], routes: [] }, `no IPv${family} rule or route`);
  }
  await removeCapture(path);
  t.equal(await captureState(path), 'absent');
});

t.test('removing from a netns that never had the rules is fine', async (t) => {
  const { path } = await tempNetns(t);
  await removeCapture(path);
  t.equal(await captureState(path), 'absent');
});

t.test('a jump deleted by hand reads as partial and install repairs it', async (t) => {
  const { path } = await tempNetns(t);
  await installCapture(path);
  await inNetns(path, 'iptables', '-t', 'nat', '-D', 'OUTPUT', '-j', 'ISTIO_OUTPUT');
  t.equal(await captureState(path), 'partial');
  await installCapture(path);
  await assertInstalled(t, path);
});

t.test('a jump added twice by hand reads as partial and install leaves one', async (t) => {
  const { path } = await tempNetns(t);
  await installCapture(path);
  await inNetns(path, 'ip6tables', '-t', 'mangle', '-A', 'PREROUTING', '-j', 'ISTIO_PRERT');
  t.equal(await captureState(path), 'partial');
  await installCapture(path);
  await assertInstalled(t, path);
});

t.test(
  'a rule missing from a chain or a missing ip rule reads as partial until install',
  async (t) => {
    const { path } = await tempNetns(t);
    await installCapture(path);
    await inNetns(path, 'iptables', '-t', 'nat', '-D', 'ISTIO_PRERT', '1');
    await inNetns(path, 'ip', '-6', 'rule', 'del', 'pref', '32764');
    t.equal(await captureState(path), 'partial');
    await installCapture(path);
    await assertInstalled(t, path);
  },
);

t.test('with IPv6 disabled in the netns only IPv4 is captured, and the log says so', async (t) => {
  const { path } = await tempNetns(t);
  await inNetns(path, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1');
  await inNetns(path, 'sysctl', '-q', '-w', 'net.ipv6.conf.lo.disable_ipv6=1');
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  await installCapture(path, { logger: createLogger('test', { destination, level: 'info' }) });
  t.equal(await captureState(path), 'installed');
  t.same(await savedRules(path, 4), expectedRules(4));
  t.notMatch(await inNetns(path, 'ip6tables-save'), /ISTIO/);
  t.match(lines, [{ netns: path, msg: /IPv4 only/ }]);
});

t.test('a netns that does not exist fails with the command and its stderr', async (t) => {
  const missing = '/run/netns/amb-rules-does-not-exist';
  const error = await installCapture(missing).catch((err: unknown) => err);
  t.type(error, CaptureRulesError);
  t.match(error, {
    code: 'AMBIT_CAPTURE_RULES',
    netns: missing,
    command: 'nsenter',
    stderr: /amb-rules-does-not-exist/,
  });
});
