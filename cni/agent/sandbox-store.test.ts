import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { silentLogger } from '../../core/telemetry/log.js';
import { tempDir } from '../../test/support/ambit.js';
import { writePendingEvent } from '../plugin/pending.js';
import type { SandboxRequest } from '../plugin/protocol.js';
import { SandboxStateError } from './errors.js';
import { podUid } from './pod-source.js';
import type { Sandbox } from './sandbox.js';
import { SandboxStore } from './sandbox-store.js';

const sandbox: Sandbox = {
  uid: podUid('0d7f-11'),
  containerId: 'c0ffee01',
  netns: '/run/netns/pod-a',
  ifname: 'eth0',
  pod: { name: 'cart-0', namespace: 'shop' },
  ips: ['10.244.0.5'],
};

function request(containerId: string): SandboxRequest {
  return {
    containerId,
    netns: `/run/netns/${containerId}`,
    ifname: 'eth0',
    pod: { name: containerId, namespace: 'shop', uid: `uid-${containerId}` },
    ips: [],
  };
}

t.test('saved sandboxes load back after a restart', async (t) => {
  const dir = await tempDir(t, 'ambit-agent-');
  await new SandboxStore(dir, silentLogger()).save([sandbox]);
  t.same(await new SandboxStore(dir, silentLogger()).load(), [sandbox]);
});

t.test('a first start knows no sandboxes', async (t) => {
  const dir = await tempDir(t, 'ambit-agent-');
  t.same(await new SandboxStore(join(dir, 'not-yet'), silentLogger()).load(), []);
});

t.test('a state file the agent did not write stops it, naming the file', async (t) => {
  const dir = await tempDir(t, 'ambit-agent-');
  await writeFile(join(dir, 'sandboxes.json'), '{"version": 1, "sandboxes": [{"netns": 3}]}');
  await t.rejects(new SandboxStore(dir, silentLogger()).load(), {
    constructor: SandboxStateError,
    message: new RegExp(`${join(dir, 'sandboxes.json')}: is not a sandbox list`),
  });
});

t.test('events the plugin left are replayed in order, once', async (t) => {
  const dir = await tempDir(t, 'ambit-agent-');
  await writePendingEvent(dir, { command: 'add', request: request('one'), at: 'then' });
  await writePendingEvent(dir, { command: 'del', request: { containerId: 'one' }, at: 'later' });
  await writePendingEvent(dir, { command: 'add', request: request('two'), at: 'latest' });
  await writeFile(join(dir, 'pending', '999999999999999-1-bad-add.json'), '{"command": "add"}');
  const store = new SandboxStore(dir, silentLogger());
  const events = await store.takePending();
  t.same(
    events.map((e) => [e.command, e.request.containerId]),
    [
      ['add', 'one'],
      ['del', 'one'],
      ['add', 'two'],
    ],
    'the unreadable file is dropped',
  );
  t.same(await readdir(join(dir, 'pending')), [], 'every file is consumed');
  t.same(await store.takePending(), []);
});

t.test('no pending directory means no pending events', async (t) => {
  const dir = await tempDir(t, 'ambit-agent-');
  await mkdir(join(dir, 'elsewhere'));
  t.same(await new SandboxStore(dir, silentLogger()).takePending(), []);
});
