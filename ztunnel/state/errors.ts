import { MeshError } from '../../core/errors.js';

/**
 * An xDS resource the node tunnel cannot use: it does not decode, or it decodes to something
 * the workload API forbids. The whole response is refused (the xDS client NACKs it with this
 * message) and the state keeps what it held.
 */
export class InvalidResourceError extends MeshError {
  readonly code = 'AMBIT_ZTUNNEL_RESOURCE_INVALID';
  constructor(
    readonly typeUrl: string,
    readonly resourceName: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${typeUrl} resource ${JSON.stringify(resourceName)} is invalid: ${reason}`, options);
  }
}
