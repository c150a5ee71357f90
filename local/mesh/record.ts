import { readFile, rename, writeFile } from 'node:fs/promises';
import { MeshError } from '../../core/errors.js';
import type { ClusterPrefix } from '../names.js';
import type { ControlPlaneAddress } from './components.js';
import type { ProcessRef } from './supervisor.js';

/** A process the mesh started and supervises: the control plane, an agent, a ztunnel. */
export interface ManagedProcess {
  /** `controlplane`, `cni-agent/node-1`, `ztunnel/node-1`. */
  readonly name: string;
  readonly program: 'controlplane' | 'cni-agent' | 'ztunnel';
  readonly node?: string;
  readonly netns?: string;
  readonly log: string;
  readonly ref: ProcessRef;
}

/** `mesh.json`: what `ambit local up` made, written before anything is made. */
export interface MeshRecord {
  readonly prefix: ClusterPrefix;
  /** `starting` until every part reported ready; a crash leaves it so, for `down`. */
  phase: 'starting' | 'up';
  readonly createdAt: string;
  /** The `ambit` that started the programs (the same one starts pods and waypoints). */
  readonly ambitBin: string;
  controlPlane?: ControlPlaneAddress & {
    /** `http://127.0.0.1:<port>`: /ready, /metrics, /debug/config, /debug/connections. */
    readonly monitoringUrl: string;
  };
  processes: ManagedProcess[];
}

export class MeshRecordError extends MeshError {
  readonly code = 'AMBIT_LOCAL_RECORD';
  constructor(
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${reason}`, options);
  }
}

/** The record, or undefined when there is none. */
export async function readRecord(file: string): Promise<MeshRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MeshRecordError(file, 'cannot be read', { cause: err });
  }
  try {
    return JSON.parse(text) as MeshRecord;
  } catch (err) {
    throw new MeshRecordError(
      file,
      'is not a mesh record; `ambit local down` removes what it names',
      { cause: err },
    );
  }
}

/** Written whole and renamed into place: a reader never sees half a record. */
export async function writeRecord(file: string, record: MeshRecord): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(record, null, 2));
  await rename(`${file}.tmp`, file);
}
