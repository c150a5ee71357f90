import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Test } from 'tap';

const exec = promisify(execFile);

/** Runs a command inside the netns at `path`; resolves with its stdout. */
export async function inNetns(path: string, command: string, ...args: string[]): Promise<string> {
  return (await exec('nsenter', [`--net=${path}`, command, ...args])).stdout;
}

/**
 * A new named netns with loopback up, deleted when the test ends whatever its outcome (deleting
 * it takes its links and rules with it).
 */
export async function tempNetns(t: Test): Promise<{ name: string; path: string }> {
  const name = `amb-rules-${randomBytes(4).toString('hex')}`;
  await exec('ip', ['netns', 'add', name]);
  t.teardown(() => exec('ip', ['netns', 'del', name]));
  const path = `/run/netns/${name}`;
  await inNetns(path, 'ip', 'link', 'set', 'lo', 'up');
  return { name, path };
}
