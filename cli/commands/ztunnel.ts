import { main, USAGE } from '../../ztunnel/main.js';
import { programCommand } from './program.js';

export const ztunnel = programCommand(
  'run the node tunnel: captured pod traffic over HBONE',
  USAGE,
  main,
);
