import { main, USAGE } from '../../waypoint/gateway/main.js';
import { programCommand } from './program.js';

export const gateway = programCommand(
  'run an ingress gateway: the Gateways selecting its pod, routed as a waypoint routes',
  USAGE,
  main,
);
