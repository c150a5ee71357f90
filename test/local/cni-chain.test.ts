import t, { type Test } from 'tap';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  addNetworkList,
  CniPluginError,
  delNetworkList,
  type NetworkConfigList,
  type RuntimeConfig,
} from '../../local/cni-chain.js';
import { tempDir } from '../support/ambit.js';

// Stand-in plugins that log what the runner hands them: the command, CNI_IFNAME, CNI_ARGS
// and their stdin, one JSON line each; `first` prints a result, `second` passes its
// prevResult through as a chained plugin must, `broken` fails the way the spec says.
const RECORDING = `#!/bin/sh
stdin=$(cat)
printf '{"plugin":"%s","command":"%s","ifname":"%s","args":"%s","conf":%s}\\n' \\
  "$(basename "$0")" "$CNI_COMMAND" "$CNI_IFNAME" "$CNI_ARGS" "$stdin" >> "$RECORD"
`;
const PLUGINS = {
  first: `${RECORDING}[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","ips":[{"address":"10.1.2.3/24"}]}'
exit 0`,
  second: `${RECORDING}[ "$CNI_COMMAND" = ADD ] && echo "$stdin" | sed 's/.*"prevResult":\\(.*\\)}$/\\1/'
exit 0`,
  broken: `${RECORDING}echo '{"cniVersion":"1.0.0","code":7,"msg":"bad config","details":"no bridge"}'
exit 1`,
};

async function setup(t: Test) {
  const dir = await tempDir(t, 'ambit-cni-chain-');
  for (const [name, script] of Object.entries(PLUGINS)) {
    await writeFile(join(dir, name), script);
    await chmod(join(dir, name), 0o755);
  }
  const record = join(dir, 'record.jsonl');
  const options = { pluginDirs: [dir], cacheDir: join(dir, 'cache'), env: { RECORD: record } };
  const calls = async () =>
    (await readFile(record, 'utf8'))
      .trim()
      .split('\n')
      .map(
        (line) => JSON.parse(line) as Record<string, unknown> & { conf: Record<string, unknown> },
      );
  return { options, calls };
}

const runtime: RuntimeConfig = {
  containerId: 'c0ffee',
  netnsPath: '/run/netns/nowhere',
  ifName: 'eth0',
  args: [
    ['K8S_POD_NAMESPACE', 'demo'],
    ['K8S_POD_NAME', 'a'],
  ],
};

const list = (...types: string[]): NetworkConfigList => ({
  cniVersion: '1.0.0',
  name: 'testnet',
  plugins: types.map((type) => ({ type, extra: type })),
});

t.test(
  'ADD hands each plugin the previous result; DEL runs in reverse with the cached one',
  async (t) => {
    const { options, calls } = await setup(t);
    const result = await addNetworkList(list('first', 'second'), runtime, options);
    t.same(result.ips, [{ address: '10.1.2.3/24' }], 'the last plugin’s result');
    await delNetworkList(list('first', 'second'), runtime, options);

    const seen = await calls();
    t.same(
      seen.map((c) => `${String(c.command)} ${String(c.plugin)}`),
      ['ADD first', 'ADD second', 'DEL second', 'DEL first'],
    );
    t.same(seen[0]!.conf, { type: 'first', extra: 'first', cniVersion: '1.0.0', name: 'testnet' });
    t.same(seen[1]!.conf.prevResult, result, 'ADD: the previous plugin’s result');
    t.same(seen[2]!.conf.prevResult, result, 'DEL: the cached ADD result');
    t.equal(seen[0]!.args, 'K8S_POD_NAMESPACE=demo;K8S_POD_NAME=a');
    t.equal(seen[0]!.ifname, 'eth0');

    await delNetworkList(list('first', 'second'), runtime, options);
    t.notOk('prevResult' in (await calls())[4]!.conf, 'a second DEL has no cached result left');
  },
);

t.test('a failing plugin stops ADD with its CNI error code and message', async (t) => {
  const { options, calls } = await setup(t);
  const error = await addNetworkList(list('first', 'broken', 'second'), runtime, options).catch(
    (err: unknown) => err,
  );
  t.type(error, CniPluginError);
  t.match(error, { plugin: 'broken', command: 'ADD', cniCode: 7 });
  t.match((error as Error).message, /bad config \(no bridge\)/);
  t.same(
    (await calls()).map((c) => c.plugin),
    ['first', 'broken'],
    'later plugins do not run',
  );
});

t.test('a plugin missing from every directory is named in the error', async (t) => {
  const { options } = await setup(t);
  const error = await addNetworkList(list('absent'), runtime, options).catch((err: unknown) => err);
  t.match(error, { code: 'AMBIT_CNI_PLUGIN', plugin: 'absent' });
  t.match((error as Error).message, /not found in/);
});
