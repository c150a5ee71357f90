import { join } from 'node:path';

/**
 * Where a local mesh keeps everything, under one directory the user names (`--state-dir`):
 *
 *   mesh.json            what `up` made: the cluster prefix, nodes, addresses, processes
 *   config/              the config store the control plane and node agents watch (YAML)
 *   tokens.yaml          the control plane's static tokens (0600)
 *   tokens/              one token file per caller (node tunnels, waypoints)
 *   controlplane/        the CA root and the control plane's state
 *   logs/                one log file per process (control plane, agents, ztunnels, pods)
 *   pods/                one record per pod started by `ambit local run` or a waypoint
 *   cluster/<prefix>/    the topology's own state (IPAM, CNI cache, sockets), per node
 *
 * Default `/run/ambit/local`: tmpfs, like the network namespaces it describes, so a reboot
 * clears both together.
 */
export const DEFAULT_MESH_STATE_DIR = '/run/ambit/local';

/** The variable that points every `ambit` command at another mesh's state directory. */
export const STATE_DIR_ENV = 'AMBIT_STATE_DIR';

export interface MeshLayout {
  readonly root: string;
  readonly record: string;
  readonly configDir: string;
  readonly tokensFile: string;
  readonly tokensDir: string;
  readonly controlPlaneDir: string;
  readonly rootCertFile: string;
  readonly logsDir: string;
  readonly podsDir: string;
  /** Passed to the topology as its state root: it makes `<clusterRoot>/<prefix>` there. */
  readonly clusterRoot: string;
  log(process: string): string;
  tokenFile(subject: string): string;
  podRecord(namespace: string, name: string): string;
}

export function meshLayout(root: string): MeshLayout {
  const controlPlaneDir = join(root, 'controlplane');
  return {
    root,
    record: join(root, 'mesh.json'),
    configDir: join(root, 'config'),
    tokensFile: join(root, 'tokens.yaml'),
    tokensDir: join(root, 'tokens'),
    controlPlaneDir,
    rootCertFile: join(controlPlaneDir, 'root-cert.pem'),
    logsDir: join(root, 'logs'),
    podsDir: join(root, 'pods'),
    clusterRoot: join(root, 'cluster'),
    log: (process) => join(root, 'logs', `${process}.log`),
    tokenFile: (subject) => join(root, 'tokens', subject),
    podRecord: (namespace, name) => join(root, 'pods', `${namespace}.${name}.json`),
  };
}

/** The state directory a command works on: the flag, else $AMBIT_STATE_DIR, else the default. */
export function resolveStateDir(flag: string | undefined): string {
  return flag ?? process.env[STATE_DIR_ENV] ?? DEFAULT_MESH_STATE_DIR;
}
