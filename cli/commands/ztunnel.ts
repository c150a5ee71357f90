import { FlagError, main, USAGE } from '../../ztunnel/main.js';
import { UsageError, type Command } from '../usage.js';

export const ztunnel: Command = {
  summary: 'run the node tunnel: captured pod traffic over HBONE',
  usage: USAGE,
  async run(argv) {
    try {
      return await main(argv);
    } catch (err) {
      if (err instanceof FlagError) throw new UsageError(err.message);
      throw err;
    }
  },
};
