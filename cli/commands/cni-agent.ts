import { main, USAGE } from '../../cni/agent/main.js';
import { programCommand } from './program.js';

export const cniAgent = programCommand(
  'run the CNI node agent: pod enrollment, capture rules, zds for ztunnel',
  USAGE,
  main,
);
