import { MeshError } from '../../core/errors.js';

/** A pod that belongs in the mesh could not be enrolled (its ADD fails, so it never runs uncaptured). */
export class EnrollmentError extends MeshError {
  readonly code = 'AMBIT_CNI_ENROLLMENT';
  constructor(
    readonly pod: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`pod ${pod} could not be enrolled: ${reason}`, options);
  }
}

/** CHECK found a sandbox the agent does not know, or capture rules that differ from its decision. */
export class SandboxCheckError extends MeshError {
  readonly code = 'AMBIT_CNI_CHECK';
}

/** The agent's state directory holds something it cannot read back. */
export class SandboxStateError extends MeshError {
  readonly code = 'AMBIT_CNI_STATE';
  constructor(
    readonly file: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${reason}`, options);
  }
}

/** A CNI request (HTTP body or pending file) that is not what the plugin sends. */
export class BadRequestError extends MeshError {
  readonly code = 'AMBIT_CNI_BAD_REQUEST';
}
