import { MeshError } from '../../core/errors.js';

/** The request to explain names something the mesh does not know, or is malformed. */
export class ExplainInputError extends MeshError {
  readonly code = 'AMBIT_EXPLAIN_INPUT';
  constructor(
    readonly flag: string,
    readonly value: string,
    reason: string,
  ) {
    super(`${flag} ${value}: ${reason}`);
  }
}
