import { MeshError } from '../../core/errors.js';

/**
 * The CNI spec's well-known error codes (SPEC.md "Error"), and Ambit's own from 100 up, where
 * the spec leaves codes to plugins.
 */
export const CNI_ERROR = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodingFailure: 6,
  invalidNetworkConfig: 7,
  tryAgainLater: 11,
  /** The agent could not capture the traffic of a pod that belongs in the mesh. */
  enrollmentFailed: 100,
  /** CHECK found the pod's capture state different from what it should be. */
  checkFailed: 101,
  /** The agent answered something the plugin does not understand. */
  agentProtocol: 102,
} as const;

export type CniErrorCode = (typeof CNI_ERROR)[keyof typeof CNI_ERROR];

/** A failure the plugin reports to the runtime as the spec's error JSON, exit code 1. */
export class CniError extends MeshError {
  readonly code = 'AMBIT_CNI';

  constructor(
    readonly cniCode: CniErrorCode,
    message: string,
    readonly details = '',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The error result the spec defines: printed on stdout, exit code non-zero. */
export function errorResult(
  cniVersion: string,
  err: CniError,
): { cniVersion: string; code: number; msg: string; details?: string } {
  return {
    cniVersion,
    code: err.cniCode,
    msg: err.message,
    ...(err.details ? { details: err.details } : {}),
  };
}
