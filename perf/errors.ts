import { MeshError } from '../core/errors.js';

/** A benchmark step could not measure what it set out to (a tool failed, bytes went missing). */
export class BenchmarkError extends MeshError {
  readonly code = 'AMBIT_PERF';
  constructor(
    readonly step: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${step}: ${reason}`, options);
  }
}
