import { main, USAGE } from '../../waypoint/main.js';
import { programCommand } from './program.js';

export const waypoint = programCommand(
  'run a waypoint proxy: L7 routing and resilience for the services bound to it',
  USAGE,
  main,
);
