import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { runAmbit, type RunResult } from '../support/ambit.js';

// What the `ambit local` suites share: a unique state directory removed by `ambit local
// down` whatever happens, and `ambit … --state-dir DIR` runs.

export interface LocalMeshRun {
  readonly stateDir: string;
  /** `ambit ARGS… --state-dir DIR` (the flag goes before a `--`). */
  ambit(args: string[], options?: { input?: string; timeoutMs?: number }): Promise<RunResult>;
  /** The cluster prefix from `mesh.json`, once `up` has written it. */
  prefix(): Promise<string>;
}

export function localMeshRun(t: Test): LocalMeshRun {
  const stateDir = join(tmpdir(), `ambit-local-${randomBytes(4).toString('hex')}`);
  const ambit = (args: string[], options: { input?: string; timeoutMs?: number } = {}) => {
    const split = args.indexOf('--');
    const withDir =
      split < 0
        ? [...args, '--state-dir', stateDir]
        : [...args.slice(0, split), '--state-dir', stateDir, ...args.slice(split)];
    return runAmbit(withDir, { timeoutMs: 60_000, ...options });
  };
  t.teardown(async () => {
    const down = await ambit(['local', 'down']);
    if (down.code !== 0) throw new Error(`ambit local down failed: ${down.stderr}`);
  });
  return {
    stateDir,
    ambit,
    async prefix() {
      const record = JSON.parse(await readFile(join(stateDir, 'mesh.json'), 'utf8')) as {
        prefix: string;
      };
      return record.prefix;
    },
  };
}

/** Polls `check` (undefined = done, else why not) until it passes or the deadline. */
export async function eventually(
  what: string,
  check: () => Promise<string | undefined>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  for (;;) {
    last = (await check()) ?? '';
    if (last === '') return;
    if (performance.now() > deadline) throw new Error(`${what}: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
