import { MeshError } from '../../core/errors.js';

/** A command that reads or changes the capture rules inside a pod's netns failed. */
export class CaptureRulesError extends MeshError {
  readonly code = 'AMBIT_CAPTURE_RULES';
  constructor(
    /** The netns path the command ran in. */
    readonly netns: string,
    /** The command that failed, e.g. `iptables-restore --noflush` or `nsenter`. */
    readonly command: string,
    /** What it printed on stderr (trimmed). */
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(
      `capture rules in ${netns}: ${command} failed: ${stderr.split('\n')[0] || 'no output'}`,
      options,
    );
  }
}
