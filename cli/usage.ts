/** A command-line mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  readonly code = 'AMBIT_USAGE';
}

/** What a command returns: the process exit code. */
export type ExitCode = number;

export interface Command {
  /** One line for `ambit help`. */
  summary: string;
  usage: string;
  run(argv: string[]): Promise<ExitCode>;
}
