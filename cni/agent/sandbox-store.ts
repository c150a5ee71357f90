import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from '../../core/errors.js';
import type { Logger } from '../../core/telemetry/log.js';
import { PENDING_DIR, type PendingEvent } from '../plugin/protocol.js';
import { SandboxStateError } from './errors.js';
import {
  parseDeleteRequest,
  parseSandboxRequest,
  requestOf,
  sandboxOf,
  type Sandbox,
} from './sandbox.js';

const STATE_FILE = 'sandboxes.json';
const STATE_VERSION = 1;

/**
 * The agent's memory across restarts, in its state directory: `sandboxes.json` (every sandbox
 * it knows, rewritten whole after each change) and `pending/` (CNI events the plugin recorded
 * while no agent was listening).
 */
export class SandboxStore {
  private readonly file: string;

  constructor(
    private readonly stateDir: string,
    private readonly logger: Logger,
  ) {
    this.file = join(stateDir, STATE_FILE);
  }

  /** The sandboxes saved last; none on a first start. An unreadable file stops the agent. */
  async load(): Promise<Sandbox[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return [];
      throw new SandboxStateError(this.file, `cannot be read (${errorCode(err)})`, { cause: err });
    }
    try {
      const state = JSON.parse(text) as { version?: unknown; sandboxes?: unknown };
      if (state.version !== STATE_VERSION || !Array.isArray(state.sandboxes))
        throw new Error(`expected {version: ${STATE_VERSION}, sandboxes: [...]}`);
      return state.sandboxes.map((s) => sandboxOf(parseSandboxRequest(s)));
    } catch (err) {
      throw new SandboxStateError(
        this.file,
        `is not a sandbox list the agent wrote (${(err as Error).message}); move it away to start afresh (running pods then re-enroll on their next CNI event only)`,
        { cause: err },
      );
    }
  }

  /** Replaces the saved list; the file is renamed into place, so a crash leaves old or new. */
  async save(sandboxes: Iterable<Sandbox>): Promise<void> {
    await mkdir(this.stateDir, { recursive: true, mode: 0o700 });
    const temporary = `${this.file}.tmp`;
    const state = { version: STATE_VERSION, sandboxes: [...sandboxes].map(requestOf) };
    await writeFile(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    await rename(temporary, this.file);
  }

  /**
   * Reads and removes the events the plugin left, oldest first. A file that cannot be parsed
   * is logged and removed: replaying it would fail the same way at every start.
   */
  async takePending(): Promise<PendingEvent[]> {
    const dir = join(this.stateDir, PENDING_DIR);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if (errorCode(err) === 'ENOENT') return [];
      throw err;
    }
    const events: PendingEvent[] = [];
    for (const name of names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort()) {
      const path = join(dir, name);
      try {
        events.push(parsePending(JSON.parse(await readFile(path, 'utf8'))));
      } catch (err) {
        this.logger.error(
          { file: path, err, 'error.code': errorCode(err) },
          'pending CNI event unreadable; dropped',
        );
      }
      await rm(path, { force: true });
    }
    return events;
  }
}

function parsePending(value: unknown): PendingEvent {
  const event = value as { command?: unknown; request?: unknown; at?: unknown };
  const at = typeof event.at === 'string' ? event.at : '';
  if (event.command === 'add')
    return { command: 'add', request: parseSandboxRequest(event.request), at };
  if (event.command === 'del')
    return { command: 'del', request: parseDeleteRequest(event.request), at };
  throw new Error(`unknown command ${String(event.command)}`);
}
