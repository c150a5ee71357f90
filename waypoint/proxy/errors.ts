import { MeshError } from '../../core/errors.js';

/** A tunnel to an upstream endpoint could not be opened (Envoy: connection failure, UF). */
export class UpstreamConnectError extends MeshError {
  readonly code = 'AMBIT_UPSTREAM_CONNECT';

  constructor(
    readonly target: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`connect to ${target} failed: ${reason}`, options);
  }
}
