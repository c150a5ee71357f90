import { execFile } from 'node:child_process';
import { MeshError } from '../core/errors.js';

/** A system tool (ip, iptables, a CNI plugin) exited non-zero, timed out or could not start. */
export class LocalCommandError extends MeshError {
  readonly code = 'AMBIT_LOCAL_COMMAND';
  constructor(
    readonly command: readonly string[],
    readonly exitCode: number | string | undefined,
    readonly stdout: string,
    readonly stderr: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      `${command.join(' ')} failed (${exitCode ?? 'no exit code'}): ${stderr.trim() || stdout.trim()}`,
      options,
    );
  }
}

export interface CommandOptions {
  input?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface CommandOutput {
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; a non-zero exit becomes a LocalCommandError with its output. */
export function runCommand(
  file: string,
  args: readonly string[],
  options: CommandOptions = {},
): Promise<CommandOutput> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 15_000,
        killSignal: 'SIGKILL',
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout, stderr });
        const exit = error.killed ? 'timed out' : (error.code ?? undefined);
        reject(new LocalCommandError([file, ...args], exit, stdout, stderr, { cause: error }));
      },
    );
    // A program that exits without reading its input closes the pipe: not a failure of ours.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.input ?? '');
  });
}

/** `ip ARGS…`; for `-j` commands the parsed JSON (empty output, as some versions give, is []). */
export async function ip(args: readonly string[]): Promise<string> {
  return (await runCommand('ip', args)).stdout;
}

export async function ipJson<T>(args: readonly string[]): Promise<T[]> {
  const out = (await ip(['-j', ...args])).trim();
  return out === '' ? [] : (JSON.parse(out) as T[]);
}
