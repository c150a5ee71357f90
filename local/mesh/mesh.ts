import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { stringify } from 'yaml';
import { MeshError } from '../../core/errors.js';
import { addressPlan } from '../addresses.js';
import { listLeftovers } from '../leftovers.js';
import { DEFAULT_STATE_ROOT, randomPrefix, type ClusterPrefix } from '../names.js';
import { createCluster, destroyCluster, loadCluster, type Cluster } from '../topology.js';
import {
  AGENT_ADMIN_PORT,
  agentArgs,
  CONTROL_PLANE_PORT,
  CONTROL_PLANE_SERVERNAME,
  controlPlaneArgs,
  SYSTEM_NAMESPACE,
  ZTUNNEL_READINESS_PORT,
  ztunnelArgs,
  type TokenEntry,
} from './components.js';
import { meshLayout, type MeshLayout } from './layout.js';
import { getInNetns } from './netns-http.js';
import { checkHost } from './preflight.js';
import { readRecord, writeRecord, type ManagedProcess, type MeshRecord } from './record.js';
import { ConfigStore, parseAll } from './store.js';
import { isAlive, startDetached, stopProcess } from './supervisor.js';
import { readPodRecords } from './workloads.js';
import { logLine, NotReadyError, waitUntil } from './wait.js';

/** Reports a step of a long operation, one line for people. */
export type Progress = (line: string) => void;

export class MeshAlreadyUpError extends MeshError {
  readonly code = 'AMBIT_LOCAL_ALREADY_UP';
  constructor(readonly stateDir: string) {
    super(
      `a local mesh is already up in ${stateDir}; use it, or remove it with \`ambit local down --state-dir ${stateDir}\``,
    );
  }
}

export class MeshLeftoverError extends MeshError {
  readonly code = 'AMBIT_LOCAL_LEFTOVER';
  constructor(readonly stateDir: string) {
    super(
      `${stateDir} holds a mesh whose processes are gone (a crash?); clear it with \`ambit local down --state-dir ${stateDir}\`, then run up again`,
    );
  }
}

export class MeshNotUpError extends MeshError {
  readonly code = 'AMBIT_LOCAL_NOT_UP';
  constructor(readonly stateDir: string) {
    super(
      `no local mesh is up in ${stateDir}; start one with \`ambit local up\` (or pass --state-dir)`,
    );
  }
}

export class StateDirInUseError extends MeshError {
  readonly code = 'AMBIT_LOCAL_STATE_DIR';
  constructor(
    readonly stateDir: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${stateDir} cannot be a mesh's state directory (it is not empty, or cannot be made); pick a new or empty one with --state-dir`,
      options,
    );
  }
}

export class MeshUpError extends MeshError {
  readonly code = 'AMBIT_LOCAL_UP';
  constructor(reason: string, options: { cause: unknown }) {
    super(`${reason}; everything it made was removed`, options);
  }
}

/** A mesh that is up, as every command after `up` sees it. */
export interface LocalMesh {
  readonly layout: MeshLayout;
  readonly record: MeshRecord & { controlPlane: NonNullable<MeshRecord['controlPlane']> };
  readonly cluster: Cluster;
  readonly store: ConfigStore;
}

export interface UpOptions {
  stateDir: string;
  nodes: number;
  /** The `ambit` program the mesh's processes run (its directory holds `ambit-cni`). */
  ambitBin: string;
  progress?: Progress;
  /** Per part, how long it may take to report ready. */
  readyTimeoutMs?: number;
  /**
   * Runs once the control plane and every node are ready, before `up` reports success:
   * the place for parts that are themselves pods of the mesh (the ingress gateway).
   */
  addons?: (mesh: LocalMesh, progress: Progress) => Promise<void>;
}

/** Opens the mesh that is up in `stateDir`, or says how to start one. */
export async function openMesh(stateDir: string): Promise<LocalMesh> {
  const layout = meshLayout(stateDir);
  const record = await readRecord(layout.record);
  if (record === undefined) throw new MeshNotUpError(stateDir);
  if (record.phase !== 'up' || record.controlPlane === undefined)
    throw new MeshLeftoverError(stateDir);
  const cluster = await loadCluster(record.prefix, layout.clusterRoot);
  return {
    layout,
    record: record as LocalMesh['record'],
    cluster,
    store: new ConfigStore(layout.configDir, addressPlan(cluster.octet)),
  };
}

/**
 * `ambit local up`: the cluster of node namespaces, the control plane, a node agent and a
 * ztunnel per node, each a detached process logging under the state directory; resolves
 * once every part reports ready. A failure removes whatever was made.
 */
export async function meshUp(options: UpOptions): Promise<LocalMesh> {
  const progress = options.progress ?? (() => undefined);
  const layout = meshLayout(options.stateDir);
  await checkHost(dirname(options.ambitBin));
  const existing = await readRecord(layout.record);
  if (existing !== undefined) {
    const controlPlane = existing.processes.find((p) => p.program === 'controlplane');
    if (existing.phase === 'up' && controlPlane && (await isAlive(controlPlane.ref)))
      throw new MeshAlreadyUpError(options.stateDir);
    throw new MeshLeftoverError(options.stateDir);
  }
  if ((await ownLeftovers(layout)).length > 0) throw new MeshLeftoverError(options.stateDir);
  // `down` removes the state directory whole: never take one that holds something else.
  const present = await readdir(options.stateDir).catch(() => []);
  if (present.length > 0) throw new StateDirInUseError(options.stateDir);
  try {
    for (const dir of [
      layout.root,
      layout.configDir,
      layout.tokensDir,
      layout.logsDir,
      layout.podsDir,
    ])
      await mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw new StateDirInUseError(options.stateDir, { cause: err });
  }
  const prefix = randomPrefix();
  const record: MeshRecord = {
    prefix,
    phase: 'starting',
    createdAt: new Date().toISOString(),
    ambitBin: options.ambitBin,
    processes: [],
  };
  await writeRecord(layout.record, record);
  try {
    return await build(layout, record, options, progress);
  } catch (err) {
    progress('failed; removing what was made');
    // The logs go with the rest: keep the failing part's last words in the error.
    const tail = err instanceof NotReadyError && err.log ? await lastLines(err.log, 5) : '';
    await meshDown(options.stateDir).catch(() => undefined);
    const reason = (err instanceof Error ? err.message : String(err)) + tail;
    throw new MeshUpError(`ambit local up failed: ${reason}`, { cause: err });
  }
}

async function build(
  layout: MeshLayout,
  record: MeshRecord,
  options: UpOptions,
  progress: Progress,
): Promise<LocalMesh> {
  const timeoutMs = options.readyTimeoutMs ?? 30_000;
  progress(`creating ${options.nodes} node(s) (cluster ${record.prefix})`);
  const cluster = await createCluster({
    prefix: record.prefix,
    nodes: options.nodes,
    stateRoot: layout.clusterRoot,
    subnetRoot: DEFAULT_STATE_ROOT,
  });
  // Info whatever the caller's level: the logs are files to read later, and readiness is
  // read from the control plane's 'serving' line.
  const env = { ...process.env, AMBIT_LOG_LEVEL: 'info' };
  const start = async (
    part: Omit<ManagedProcess, 'ref' | 'log'>,
    args: string[],
  ): Promise<ManagedProcess> => {
    const log = layout.log(part.name.replace('/', '-'));
    const ref = await startDetached(options.ambitBin, args, {
      what: part.name,
      log,
      ...(part.netns ? { netns: part.netns } : {}),
      env,
    });
    const managed = { ...part, log, ref };
    record.processes.push(managed);
    await writeRecord(layout.record, record);
    return managed;
  };

  const tokens: TokenEntry[] = cluster.nodes.map((node) => ({
    token: randomBytes(16).toString('hex'),
    namespace: SYSTEM_NAMESPACE,
    serviceAccount: 'ztunnel',
    node: node.name,
  }));
  await writeFile(layout.tokensFile, stringify(tokens), { mode: 0o600 });
  for (const [i, node] of cluster.nodes.entries())
    await writeFile(layout.tokenFile(`ztunnel-${node.name}`), tokens[i]!.token, { mode: 0o600 });

  progress('starting the control plane');
  const address = `${cluster.bridgeIp}:${CONTROL_PLANE_PORT}`;
  const controlPlane = await start(
    { name: 'controlplane', program: 'controlplane' },
    controlPlaneArgs({
      configDir: layout.configDir,
      tokensFile: layout.tokensFile,
      stateDir: layout.controlPlaneDir,
      address,
      monitoring: '127.0.0.1:0',
    }),
  );
  let monitoring: string | undefined;
  await waitUntil(
    'control plane',
    async () => {
      const line = await logLine(controlPlane.log, (l) => l.msg === 'control plane serving');
      if (line === undefined) return 'not serving yet';
      monitoring = String(line.monitoring);
      const reply = await fetch(`http://${monitoring}/ready`, {
        signal: AbortSignal.timeout(1000),
      });
      return reply.status === 200 ? undefined : `/ready answered ${reply.status}`;
    },
    { timeoutMs, log: controlPlane.log, alive: () => isAlive(controlPlane.ref) },
  );
  record.controlPlane = {
    address,
    rootCertFile: layout.rootCertFile,
    servername: CONTROL_PLANE_SERVERNAME,
    monitoringUrl: `http://${monitoring}`,
  };
  await writeRecord(layout.record, record);

  for (const node of cluster.nodes) {
    progress(`starting the node agent and ztunnel on ${node.name}`);
    const agent = await start(
      { name: `cni-agent/${node.name}`, program: 'cni-agent', node: node.name, netns: node.netns },
      agentArgs(node, layout.configDir),
    );
    const ztunnel = await start(
      { name: `ztunnel/${node.name}`, program: 'ztunnel', node: node.name, netns: node.netns },
      ztunnelArgs(node, record.controlPlane, layout.tokenFile(`ztunnel-${node.name}`)),
    );
    const ready = (port: number, path: string) => async () => {
      const reply = await getInNetns(node.netnsPath, `http://127.0.0.1:${port}${path}`, 1000);
      return reply.status === 200 ? undefined : `${path} answered ${reply.status}`;
    };
    await waitUntil(`node agent on ${node.name}`, ready(AGENT_ADMIN_PORT, '/ready'), {
      timeoutMs,
      log: agent.log,
      alive: () => isAlive(agent.ref),
    });
    await waitUntil(`ztunnel on ${node.name}`, ready(ZTUNNEL_READINESS_PORT, '/healthz/ready'), {
      timeoutMs,
      log: ztunnel.log,
      alive: () => isAlive(ztunnel.ref),
    });
  }
  record.phase = 'up';
  await writeRecord(layout.record, record);
  const mesh = await openMesh(layout.root);
  // The mesh's own namespace, as installing Istio makes it: the gateway's pods go there.
  const [system] = parseAll([
    {
      file: 'ambit local up',
      text: stringify({
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: SYSTEM_NAMESPACE },
      }),
    },
  ]);
  await mesh.store.apply(system!);
  if (options.addons) await options.addons(mesh, progress);
  return mesh;
}

/** What `down` found and removed. */
export interface DownReport {
  prefixes: ClusterPrefix[];
  processes: number;
}

/**
 * `ambit local down`: stops the processes the record names (gracefully, then by force),
 * then removes every namespace, link, firewall rule and file carrying the cluster's prefix,
 * and the state directory. Needs nothing to be running: after a crash or `kill -9` of
 * every process it removes the same.
 */
export async function meshDown(stateDir: string): Promise<DownReport> {
  const layout = meshLayout(stateDir);
  const record = await readRecord(layout.record).catch(() => undefined);
  const processes = record?.processes ?? [];
  // Pods first (workloads, waypoints), while the node tunnels still carry their goodbyes.
  const pods = await readPodRecords(layout.podsDir).catch(() => []);
  await Promise.all(pods.map((p) => (p.process ? stopProcess(p.process, 2000) : undefined)));
  await Promise.all(processes.map((p) => stopProcess(p.ref, 2000)));
  const prefixes = new Set<ClusterPrefix>(record ? [record.prefix] : []);
  for (const prefix of await ownLeftovers(layout)) prefixes.add(prefix);
  for (const prefix of prefixes)
    await destroyCluster(prefix, { stateRoot: layout.clusterRoot, subnetRoot: DEFAULT_STATE_ROOT });
  const existed = (await readdir(stateDir).catch(() => undefined)) !== undefined;
  await rm(stateDir, { recursive: true, force: true });
  return { prefixes: [...prefixes], processes: existed ? processes.length : 0 };
}

/**
 * Clusters whose state lives under this mesh's directory. Namespaces and links carry only a
 * prefix, so prefixes without a state directory here are other meshes' (or test runs').
 */
async function ownLeftovers(layout: MeshLayout): Promise<ClusterPrefix[]> {
  return (await listLeftovers({ stateRoot: layout.clusterRoot }))
    .filter((l) => l.stateDir !== undefined)
    .map((l) => l.prefix);
}

async function lastLines(file: string, count: number): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const lines = text.trimEnd().split('\n').slice(-count);
  return lines.length > 0 && lines[0] !== '' ? `\nlast lines of ${file}:\n${lines.join('\n')}` : '';
}
