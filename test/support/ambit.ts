import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Test } from 'tap';

/** The repository's `bin/ambit`, run as a user would run it after `make build`. */
export const AMBIT_BIN = resolve(process.cwd(), 'bin/ambit');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `ambit ARGS…` to completion (bounded by a deadline) and returns its output. */
export function runAmbit(args: string[], options: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      process.execPath,
      [AMBIT_BIN, ...args],
      { timeout: options.timeoutMs ?? 30_000, env: { ...process.env, AMBIT_LOG_LEVEL: 'warn' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** A fresh temporary directory removed when the test ends, pass or fail. */
export async function tempDir(t: Test, prefix = 'ambit-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
