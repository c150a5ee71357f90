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

/**
 * The environment for an `ambit` child process: the test's own, less the loader hooks tap
 * injects (NODE_OPTIONS), which must not leak into the program under test.
 */
export function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_OPTIONS;
  for (const key of Object.keys(env))
    if (key.startsWith('TAP') || key.startsWith('_TAPJS')) delete env[key];
  return env;
}

/** Runs `ambit ARGS…` to completion (bounded by a deadline) and returns its output. */
export function runAmbit(
  args: string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      AMBIT_BIN,
      args,
      { timeout: options.timeoutMs ?? 30_000, env: childEnv({ AMBIT_LOG_LEVEL: 'warn' }) },
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
