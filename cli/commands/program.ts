import { FlagError } from '../../core/program/flags.js';
import { UsageError, type Command } from '../usage.js';

/**
 * A long-running program (control plane, node agent, ztunnel, waypoint) as an `ambit`
 * command: its flag mistakes are printed with its usage, like any other command's.
 */
export function programCommand(
  summary: string,
  usage: string,
  main: (argv: string[]) => Promise<number>,
): Command {
  return {
    summary,
    usage,
    async run(argv) {
      try {
        return await main(argv);
      } catch (err) {
        if (err instanceof FlagError) throw new UsageError(err.message);
        throw err;
      }
    },
  };
}
