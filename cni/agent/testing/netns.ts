import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Test } from 'tap';

const exec = promisify(execFile);

/**
 * A new named netns (`amb-agent-<random>`) with lo up, deleted when the test ends whatever its outcome
 * (unless the test deleted it first, to see the agent cope with a netns that vanished).
 */
export async function tempNetns(
  t: Test,
): Promise<{ name: string; path: string; remove(): Promise<void> }> {
  const name = `amb-agent-${randomBytes(4).toString('hex')}`;
  await exec('ip', ['netns', 'add', name]);
  let removed = false;
  const remove = async (): Promise<void> => {
    if (removed) return;
    removed = true;
    await exec('ip', ['netns', 'del', name]);
  };
  t.teardown(remove);
  // As in a real pod netns, where the runtime's loopback plugin has brought lo up.
  await exec('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  return { name, path: `/run/netns/${name}`, remove };
}
