import { readFile } from 'node:fs/promises';
import { MeshError } from '../../core/errors.js';

export class NotReadyError extends MeshError {
  readonly code = 'AMBIT_LOCAL_NOT_READY';
  constructor(
    readonly what: string,
    readonly last: string,
    readonly log: string | undefined,
  ) {
    super(`${what} not ready: ${last}${log ? `; see ${log}` : ''}`);
  }
}

/**
 * Polls `check` (undefined = ready, else why not) until it passes, or fails at the deadline
 * with the last reason. `alive`, when given, fails at once if the process behind it exited.
 */
export async function waitUntil(
  what: string,
  check: () => Promise<string | undefined>,
  options: { timeoutMs: number; log?: string; alive?: () => Promise<boolean> },
): Promise<void> {
  const deadline = performance.now() + options.timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const reason = await check();
      if (reason === undefined) return;
      last = reason;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (options.alive && !(await options.alive()))
      throw new NotReadyError(what, `exited (${last})`, options.log);
    if (performance.now() > deadline) throw new NotReadyError(what, last, options.log);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The first JSON log line in `file` for which `match` holds, once it has been written. */
export async function logLine(
  file: string,
  match: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown> | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const raw of text.split('\n')) {
    if (!raw.startsWith('{')) continue;
    try {
      const line = JSON.parse(raw) as Record<string, unknown>;
      if (match(line)) return line;
    } catch {
      // A line still being written.
    }
  }
  return undefined;
}
