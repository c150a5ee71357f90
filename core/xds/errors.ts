import { MeshError } from '../errors.js';

/** The client was closed before it synced. */
export class XdsClientClosedError extends MeshError {
  readonly code = 'AMBIT_XDS_CLIENT_CLOSED';
  constructor(readonly address: string) {
    super(`xDS client for ${address} was closed before it synced`);
  }
}

/** A Delta ADS response breaks the protocol; the client NACKs it with this message. */
export class XdsResponseInvalidError extends MeshError {
  readonly code = 'AMBIT_XDS_RESPONSE_INVALID';
  constructor(
    readonly typeUrl: string,
    readonly reason: string,
  ) {
    super(`xDS response for ${typeUrl} is invalid: ${reason}`);
  }
}
