import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { MeshError } from '../../core/errors.js';

// The local mesh's processes run detached: they outlive the command that started them, write
// to a log file each, and are known afterwards by pid and kernel start time, so a reused pid
// is never mistaken for one of them.

/** A process named by pid and start time (field 22 of /proc/<pid>/stat). */
export interface ProcessRef {
  readonly pid: number;
  readonly startTime: string;
}

export class ProcessStartError extends MeshError {
  readonly code = 'AMBIT_LOCAL_PROCESS_START';
  constructor(
    readonly what: string,
    readonly log: string,
    options?: { cause?: unknown },
  ) {
    super(`${what} could not start; see ${log}`, options);
  }
}

export class ProcessExitedError extends MeshError {
  readonly code = 'AMBIT_LOCAL_PROCESS_EXITED';
  constructor(
    readonly what: string,
    readonly log: string,
    readonly exit: number | string,
  ) {
    super(`${what} exited at once (${exit}); see ${log}`);
  }
}

export async function processRef(pid: number): Promise<ProcessRef | undefined> {
  let stat: string;
  try {
    stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTime = fields[19];
  // A zombie has exited; only its parent's wait is missing.
  if (startTime === undefined || state === 'Z') return undefined;
  return { pid, startTime };
}

export async function isAlive(ref: ProcessRef): Promise<boolean> {
  return (await processRef(ref.pid))?.startTime === ref.startTime;
}

export interface DetachedOptions {
  /** What it is, for errors ("ztunnel on node-1"). */
  what: string;
  /** Appended to, stdout and stderr both. */
  log: string;
  /** Run inside this named network namespace (`ip netns exec`, which execs: same pid). */
  netns?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Watch it this long after it started: one that exits meanwhile (a command not found, a
   * flag refused) is a failure to start, reported with its exit code.
   */
  settleMs?: number;
}

/**
 * Starts `file args…` in its own session, stdio to the log file, and lets it go: the caller
 * may exit and the process carries on. Resolves with its reference once it has started.
 */
export async function startDetached(
  file: string,
  args: readonly string[],
  options: DetachedOptions,
): Promise<ProcessRef> {
  const [command, argv] = options.netns
    ? ['ip', ['netns', 'exec', options.netns, file, ...args]]
    : [file, [...args]];
  const fd = openSync(options.log, 'a', 0o600);
  try {
    const child = spawn(command, argv, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: options.env ?? process.env,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolve(child.pid!));
    }).catch((err: unknown) => {
      throw new ProcessStartError(options.what, options.log, { cause: err });
    });
    if (options.settleMs) {
      const exited = await new Promise<number | string | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), options.settleMs);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          resolve(code ?? signal ?? 'unknown');
        });
      });
      if (exited !== undefined) throw new ProcessExitedError(options.what, options.log, exited);
    }
    child.unref();
    const ref = await processRef(pid);
    if (!ref) throw new ProcessStartError(options.what, options.log);
    return ref;
  } finally {
    closeSync(fd);
  }
}

/**
 * SIGTERM, then SIGKILL if it is still there at the deadline. Resolves once it is gone (or
 * was never there).
 */
export async function stopProcess(ref: ProcessRef, deadlineMs = 3000): Promise<void> {
  if (!(await isAlive(ref))) return;
  signal(ref.pid, 'SIGTERM');
  const deadline = performance.now() + deadlineMs;
  while (await isAlive(ref)) {
    if (performance.now() > deadline) {
      signal(ref.pid, 'SIGKILL');
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const killed = performance.now() + 2000;
  while ((await isAlive(ref)) && performance.now() < killed)
    await new Promise((resolve) => setTimeout(resolve, 20));
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
