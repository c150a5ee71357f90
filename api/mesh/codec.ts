/**
 * MeshConfig on the wire: the JSON of the MeshConfig as written (config.ts MeshConfigSpec)
 * inside `ambit.mesh.v1.MeshConfig`, packed in `google.protobuf.Any`, one resource named
 * `mesh`. Decoding checks it with the same schema the control plane loaded it with and
 * resolves the defaults, so a proxy never runs on settings it cannot use; a refusal NACKs.
 */
import { create } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { MeshError } from '../../core/errors.js';
import { MeshConfigSchema } from '../gen/ambit/mesh/v1/mesh_pb.js';
import type { Issue } from '../schema/index.js';
import { MESH_CONFIG_TYPE_URL, packResource, unpackResource } from '../xds/type-urls.js';
import { checkMeshConfig, type MeshConfig, type MeshConfigSpec } from './config.js';

/** The one MeshConfig resource's name. */
export const MESH_CONFIG_RESOURCE = 'mesh';

/** A MeshConfig resource that cannot be used; `issues` say where and why. */
export class MeshConfigInvalidError extends MeshError {
  readonly code = 'AMBIT_MESH_CONFIG_INVALID';
  constructor(
    readonly issues: readonly Issue[],
    options?: { cause?: unknown },
  ) {
    const detail = issues.map((i) => (i.path === '' ? i.reason : `${i.path}: ${i.reason}`));
    super(`MeshConfig is invalid: ${detail.join('; ')}`, options);
  }
}

export function encodeMeshConfig(spec: MeshConfigSpec): Any {
  return packResource(
    MESH_CONFIG_TYPE_URL,
    create(MeshConfigSchema, { configJson: JSON.stringify(spec) }),
  );
}

/**
 * Unpacks, checks and resolves a MeshConfig. Throws ResourceTypeMismatchError or
 * ResourceDecodeError (api/xds/type-urls.ts) for a bad envelope, MeshConfigInvalidError
 * for JSON that is not a valid MeshConfig.
 */
export function decodeMeshConfig(any: Any): MeshConfig {
  const message = unpackResource(MESH_CONFIG_TYPE_URL, any);
  let json: unknown;
  try {
    json = JSON.parse(message.configJson);
  } catch (cause) {
    throw new MeshConfigInvalidError([{ path: '', reason: 'is not JSON' }], { cause });
  }
  const checked = checkMeshConfig(json);
  if (!checked.ok) throw new MeshConfigInvalidError(checked.issues);
  return checked.value;
}
