import { main, USAGE } from '../../waypoint/main.js';
import { waypointOperator, WAYPOINT_OPERATIONS } from './waypoint-operator.js';
import { programCommand } from './program.js';
import type { Command } from '../usage.js';

const proxy = programCommand(
  'run a waypoint proxy: L7 routing and resilience for the services bound to it',
  USAGE,
  main,
);

/**
 * `ambit waypoint apply|list|delete|status …` manages waypoints as `istioctl waypoint`
 * does; `ambit waypoint --name … ` (flags first) runs the waypoint proxy itself.
 */
export const waypoint: Command = {
  summary: 'manage waypoints (apply|list|delete|status), or run the waypoint proxy (--name …)',
  usage: `${waypointOperator.usage}\n   or: ambit waypoint ${USAGE}`,
  run(argv) {
    const [first] = argv;
    return first !== undefined && (WAYPOINT_OPERATIONS as readonly string[]).includes(first)
      ? waypointOperator.run(argv)
      : proxy.run(argv);
  },
};
