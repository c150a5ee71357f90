import { spawn } from 'node:child_process';
import { BenchmarkError } from './errors.js';
import type { Scope } from './scope.js';

/** The last part of a tool's output, enough to say why it failed. */
const OUTPUT_TAIL = 4096;

/**
 * Runs a program inside a network namespace (`ip netns exec`, which execs: the child's pid
 * is the program's) to completion. A program still running at cleanup is killed; a non-zero
 * exit rejects with the end of its output.
 */
export function runInNetns(
  scope: Scope,
  step: string,
  netns: string,
  argv: readonly string[],
  env: Record<string, string> = {},
): Promise<string> {
  const child = spawn('ip', ['netns', 'exec', netns, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  scope.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  return new Promise((resolve, reject) => {
    child.once('error', (err) =>
      reject(new BenchmarkError(step, `cannot run ${argv[0]}`, { cause: err })),
    );
    child.once('close', (code, signal) => {
      if (code === 0) resolve(output);
      else
        reject(
          new BenchmarkError(step, `${argv[0]} exited with ${code ?? signal}:\n${output.trim()}`),
        );
    });
  });
}
