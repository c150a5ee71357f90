import { FlagError, main, USAGE } from '../../waypoint/main.js';
import { UsageError, type Command } from '../usage.js';

export const waypoint: Command = {
  summary: 'run a waypoint proxy: L7 routing and resilience for the services bound to it',
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
