import { MeshError } from '../../errors.js';

/** A collector answered with a non-2xx status or not in time. */
export class SpanExportError extends MeshError {
  readonly code = 'AMBIT_SPAN_EXPORT';
  constructor(
    readonly collector: string,
    readonly reason: number | 'timeout',
  ) {
    super(
      reason === 'timeout'
        ? `span export to ${collector} timed out`
        : `span export to ${collector} answered ${reason}`,
    );
  }
}
