import { FlagError, main, USAGE } from '../../controlplane/main.js';
import { UsageError, type Command } from '../usage.js';

export const controlplane: Command = {
  summary: 'run the control plane: config, CA and xDS',
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
