import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Test } from 'tap';

// A throwaway network namespace for tests, with loopback up, deleted at the test's end.

const run = promisify(execFile);

export interface TestNetns {
  readonly name: string;
  /** /run/netns/<name>, for nsenter --net= and the like. */
  readonly path: string;
  /** The namespace opened read-only; closed at teardown. */
  readonly fd: number;
  /** Runs a command line inside the namespace (words split on spaces, no quoting); resolves
   * with its stdout, rejects on failure. */
  exec(commandLine: string): Promise<string>;
}

/** Creates `<prefix>-<random>`; `t.teardown` closes the fd and deletes it, even on failure. */
export async function createTestNetns(t: Test, prefix = 'amb-net'): Promise<TestNetns> {
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  const path = `/run/netns/${name}`;
  await run('ip', ['netns', 'add', name]);
  let fd = -1;
  t.teardown(async () => {
    if (fd >= 0) closeSync(fd);
    await run('ip', ['netns', 'delete', name]);
  });
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  fd = openSync(path, 'r');
  return {
    name,
    path,
    fd,
    exec: async (commandLine) =>
      (await run('ip', ['netns', 'exec', name, ...commandLine.trim().split(/\s+/)])).stdout,
  };
}
