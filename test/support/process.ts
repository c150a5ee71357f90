import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Test } from 'tap';
import { AMBIT_BIN, childEnv } from './ambit.js';

export interface AmbitProcess {
  child: ChildProcess;
  /** Every stderr log line so far, parsed (non-JSON lines kept as `{ raw }`). */
  logs: Record<string, unknown>[];
  /** Resolves with the first log line for which `match` holds, or rejects at the deadline. */
  waitForLog(
    match: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** Sends SIGTERM and resolves with the exit code (SIGKILL after the deadline). */
  stop(timeoutMs?: number): Promise<number | null>;
}

/** How many of a process's last log lines a failed test prints. */
const LOG_LINES_ON_FAILURE = 40;

export interface StartOptions {
  /** Run inside this named network namespace (`ip netns exec`, which execs: same pid). */
  netns?: string;
}

/**
 * Starts `ambit ARGS…` as a real process. Teardown kills it whatever the test's outcome, so
 * no process outlives its test.
 */
export function startAmbit(t: Test, args: string[], options: StartOptions = {}): AmbitProcess {
  const [file, argv] = options.netns
    ? ['ip', ['netns', 'exec', options.netns, AMBIT_BIN, ...args]]
    : [AMBIT_BIN, args];
  const child = spawn(file, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: childEnv({ AMBIT_LOG_LEVEL: 'info' }),
  });
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  createInterface({ input: child.stderr! }).on('line', (line) => {
    try {
      logs.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      logs.push({ raw: line });
    }
    for (const wake of waiters) wake();
  });
  child.stdout!.resume();

  let stopping = false;
  let diedOnItsOwn = false;
  child.once('exit', () => (diedOnItsOwn = !stopping));
  const stop = async (timeoutMs = 10_000): Promise<number | null> => {
    stopping = true;
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  t.teardown(async () => {
    // A failed test's first question is what its processes said: print their last lines
    // and whether one of them died on its own, where the CI log keeps them.
    if (!t.passing()) {
      const died = diedOnItsOwn ? ` exited on its own (${child.exitCode ?? child.signalCode})` : '';
      const tail = logs.slice(-LOG_LINES_ON_FAILURE).map((l) => JSON.stringify(l));
      t.comment([`ambit ${args.join(' ')}${died}; last lines:`, ...tail].join('\n'));
    }
    await stop(2000);
  });

  const waitForLog = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const check = (): boolean => {
        const found = logs.find(match);
        if (found) {
          cleanup();
          resolve(found);
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `no matching log line within ${timeoutMs} ms; logs:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`,
          ),
        );
      }, timeoutMs);
      const onExit = (): void => {
        if (!check()) {
          cleanup();
          reject(
            new Error(
              `process exited (${child.exitCode}) before the log line; logs:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`,
            ),
          );
        }
      };
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(wake);
        child.off('exit', onExit);
      };
      const wake = (): void => void check();
      if (check()) return;
      waiters.add(wake);
      child.once('exit', onExit);
    });

  return { child, logs, waitForLog, stop };
}
