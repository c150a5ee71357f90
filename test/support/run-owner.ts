import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePrefix, type ClusterPrefix } from '../../local/names.js';
import { isAlive, processRef, type ProcessRef } from '../../local/mesh/supervisor.js';
import { destroyCluster } from '../../local/topology.js';

// Which test process owns which local cluster. A test run killed before its teardown (a
// timeout, a crash) leaves namespaces, links and processes behind; the next run removes
// them, but only for owners that are gone, so two runs at once never touch each other's.

/** One file per cluster, named after its prefix. */
export const OWNER_DIR = '/run/ambit-test';

export { processRef, type ProcessRef } from '../../local/mesh/supervisor.js';

interface OwnerRecord {
  owner: ProcessRef;
  /** Processes the owner started outside the cluster's namespaces (the control plane). */
  processes: ProcessRef[];
}

/** Records this process as the owner of `prefix`; returns a way to add started processes. */
export async function claimCluster(prefix: ClusterPrefix): Promise<RunOwner> {
  const self = await processRef(process.pid);
  if (!self) throw new Error('cannot read /proc/self/stat');
  await mkdir(OWNER_DIR, { recursive: true });
  const owner = new RunOwner(join(OWNER_DIR, `${prefix}.json`), { owner: self, processes: [] });
  await owner.save();
  return owner;
}

export class RunOwner {
  readonly #file: string;
  readonly #record: OwnerRecord;

  constructor(file: string, record: OwnerRecord) {
    this.#file = file;
    this.#record = record;
  }

  /** Written whole and renamed into place, so a reader never sees half a record. */
  async save(): Promise<void> {
    await writeFile(`${this.#file}.tmp`, JSON.stringify(this.#record));
    await rename(`${this.#file}.tmp`, this.#file);
  }

  async addProcess(pid: number): Promise<void> {
    const ref = await processRef(pid);
    if (!ref) return;
    this.#record.processes.push(ref);
    await this.save();
  }

  async release(): Promise<void> {
    await rm(this.#file, { force: true });
  }
}

/**
 * Removes every cluster whose owning test process has exited: its recorded processes
 * (still running, same start time) are killed, then the cluster is destroyed by prefix.
 * Returns the prefixes removed.
 */
export async function removeCrashedRuns(): Promise<ClusterPrefix[]> {
  let files: string[];
  try {
    files = await readdir(OWNER_DIR);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const removed: ClusterPrefix[] = [];
  for (const file of files) {
    const path = join(OWNER_DIR, file);
    let record: OwnerRecord;
    let prefix: ClusterPrefix;
    try {
      prefix = parsePrefix(file.replace(/\.json$/, ''));
      record = JSON.parse(await readFile(path, 'utf8')) as OwnerRecord;
    } catch {
      continue; // Not a record (a temporary file being written), or not one of ours.
    }
    if (await isAlive(record.owner)) continue;
    for (const ref of record.processes) {
      if (await isAlive(ref)) {
        try {
          process.kill(ref.pid, 'SIGKILL');
        } catch {
          // Exited between the check and the kill.
        }
      }
    }
    await destroyCluster(prefix);
    await rm(path, { force: true });
    removed.push(prefix);
  }
  return removed;
}
