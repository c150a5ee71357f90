import { main, USAGE } from '../../controlplane/main.js';
import { programCommand } from './program.js';

export const controlplane = programCommand(
  'run the control plane: config, CA and xDS',
  USAGE,
  main,
);
