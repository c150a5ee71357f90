import { fileURLToPath } from 'node:url';
import { resolveStateDir } from '../local/mesh/layout.js';
import { openMesh, type LocalMesh } from '../local/mesh/mesh.js';

// Which mesh an operator command works on. Today the local mesh in a state directory
// (--state-dir, $AMBIT_STATE_DIR, or the default); a cluster target comes with the
// Kubernetes source and slots in here.

/** The flag every command that reads or changes a mesh takes. */
export const STATE_DIR_OPTION = { 'state-dir': { type: 'string' } } as const;
export const STATE_DIR_USAGE = '[--state-dir DIR]';

export function openTarget(values: { 'state-dir'?: string | undefined }): Promise<LocalMesh> {
  return openMesh(resolveStateDir(values['state-dir']));
}

/** The `ambit` this CLI runs from: the mesh's processes run the same build. */
export const AMBIT_BIN = fileURLToPath(new URL('../../bin/ambit', import.meta.url));
