import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PENDING_DIR, type PendingEvent } from './protocol.js';

/**
 * Leaves a CNI event for the node agent to replay at its next start. The name sorts by time,
 * so the agent replays events in the order they happened; the file appears whole (written
 * under a hidden name, then renamed) so the agent never reads half of one.
 */
export async function writePendingEvent(stateDir: string, event: PendingEvent): Promise<string> {
  const dir = join(stateDir, PENDING_DIR);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const safeId = event.request.containerId.replace(/[^A-Za-z0-9_.-]/g, '_');
  const name = `${String(Date.now()).padStart(15, '0')}-${process.pid}-${safeId}-${event.command}.json`;
  const path = join(dir, name);
  const temporary = join(dir, `.${name}.tmp`);
  await writeFile(temporary, JSON.stringify(event), { mode: 0o600 });
  await rename(temporary, path);
  return path;
}
