import { FlagError, main, USAGE } from '../../cni/agent/main.js';
import { UsageError, type Command } from '../usage.js';

export const cniAgent: Command = {
  summary: 'run the CNI node agent: pod enrollment, capture rules, zds for ztunnel',
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
