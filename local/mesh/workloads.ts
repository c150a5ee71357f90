import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { MeshError } from '../../core/errors.js';
import { registry } from '../../api/resources/registry.js';
import { addPod, removePod, type LocalPod, type PodNetworkOptions } from '../pods.js';
import { nodeByName } from '../topology.js';
import { podObject, type ContainerPort } from './components.js';
import type { LocalMesh } from './mesh.js';
import { parseAll } from './store.js';
import { startDetached, stopProcess, type ProcessRef } from './supervisor.js';

// Pods of the local mesh: a network namespace wired by the node's real CNI chain, its Pod
// object in the config store, and a command run inside it, detached, logging to a file.

/** How long a pod's command is watched after it started for an exit at once. */
const START_SETTLE_MS = 300;

/** The uid and gid workloads run as (nobody), never root. */
export const WORKLOAD_UID = 65534;

export class PodError extends MeshError {
  readonly code = 'AMBIT_LOCAL_POD_RUN';
  constructor(
    readonly pod: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`pod ${pod}: ${reason}`, options);
  }
}

export interface RunPodSpec {
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  serviceAccount?: string;
  /** Default: the node with the fewest pods. */
  node?: string;
  ports?: readonly (number | ContainerPort)[];
  /** The program and its arguments; none for a pod that only holds a network (a client). */
  command: readonly string[];
  /** Run the command as root (the mesh's own proxies); workloads run as nobody. */
  privileged?: boolean;
}

/** `pods/<ns>.<name>.json`: everything needed to find, stop and remove the pod later. */
export interface PodRecord extends LocalPod {
  readonly labels: Record<string, string>;
  readonly serviceAccount: string;
  readonly command: readonly string[];
  readonly log: string;
  process?: ProcessRef;
}

export function podNetwork(mesh: LocalMesh): PodNetworkOptions {
  return { ambitCniDir: dirname(mesh.record.ambitBin), env: { AMBIT_LOG_LEVEL: 'warn' } };
}

export function listPods(mesh: LocalMesh): Promise<PodRecord[]> {
  return readPodRecords(mesh.layout.podsDir);
}

/** The pod records in a state directory's `pods/`, whatever state the mesh is in. */
export async function readPodRecords(podsDir: string): Promise<PodRecord[]> {
  const names = await readdir(podsDir).catch(() => []);
  const pods: PodRecord[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const text = await readFile(join(podsDir, name), 'utf8').catch(() => undefined);
    if (text !== undefined) pods.push(JSON.parse(text) as PodRecord);
  }
  return pods;
}

export async function findPod(
  mesh: LocalMesh,
  namespace: string,
  name: string,
): Promise<PodRecord> {
  const text = await readFile(mesh.layout.podRecord(namespace, name), 'utf8').catch(
    () => undefined,
  );
  if (text === undefined)
    throw new PodError(
      `${namespace}/${name}`,
      'not found; `ambit get pods -A` lists the pods, `ambit local run` starts one',
    );
  return JSON.parse(text) as PodRecord;
}

/**
 * Starts a pod: its namespace must exist in the store (as the API server insists), its
 * network comes from the node's CNI chain, its Pod object goes into the store, and its
 * command runs inside as nobody. On failure nothing of it is left.
 */
export async function runPod(mesh: LocalMesh, spec: RunPodSpec): Promise<PodRecord> {
  const ref = `${spec.namespace}/${spec.name}`;
  const namespaceDef = registry.byType('Namespace')!;
  if (!(await mesh.store.find(namespaceDef, '', spec.namespace)))
    throw new PodError(
      ref,
      `namespace ${spec.namespace} does not exist; create it first (\`ambit apply -f\` a Namespace)`,
    );
  const existing = await readFile(mesh.layout.podRecord(spec.namespace, spec.name)).catch(
    () => undefined,
  );
  if (existing !== undefined)
    throw new PodError(ref, 'already exists; pick another --name or remove it first');
  const node = spec.node ?? (await leastLoadedNode(mesh));
  nodeByName(mesh.cluster, node);

  const network = podNetwork(mesh);
  const local = await addPod(
    mesh.cluster,
    node,
    { namespace: spec.namespace, name: spec.name, uid: randomUUID() },
    network,
  );
  const record: PodRecord = {
    ...local,
    labels: spec.labels ?? {},
    serviceAccount: spec.serviceAccount ?? 'default',
    command: spec.command,
    log: mesh.layout.log(`pod-${spec.namespace}-${spec.name}`),
  };
  const recordFile = mesh.layout.podRecord(spec.namespace, spec.name);
  try {
    await writeFile(recordFile, JSON.stringify(record, null, 2));
    const [object] = parseAll([
      {
        file: `pod ${ref}`,
        text: stringify(podObject({ ...record, ...(spec.ports ? { ports: spec.ports } : {}) })),
      },
    ]);
    await mesh.store.apply(object!);
    if (spec.command.length > 0) {
      const [file, args] = spec.privileged
        ? [spec.command[0]!, spec.command.slice(1)]
        : ['setpriv', [...asWorkload(), ...spec.command]];
      record.process = await startDetached(file, args, {
        what: `its command (${spec.command[0]})`,
        log: record.log,
        netns: record.netns,
        env: spec.privileged ? process.env : workloadEnv(record),
        settleMs: START_SETTLE_MS,
      });
      await writeFile(recordFile, JSON.stringify(record, null, 2));
    }
    return record;
  } catch (err) {
    // The log goes with the pod: keep what the command said in the error.
    const said = (await readFile(record.log, 'utf8').catch(() => '')).trim().split('\n').slice(-5);
    await deletePod(mesh, record).catch(() => undefined);
    const reason = err instanceof Error ? err.message.replace(/; see .*$/, '') : String(err);
    throw new PodError(
      ref,
      `${reason}; nothing of it was kept${said[0] ? `\n${said.join('\n')}` : ''}`,
      { cause: err },
    );
  }
}

/** Stops the pod's command, removes its network (CNI DEL) and its Pod object. */
export async function deletePod(mesh: LocalMesh, pod: PodRecord): Promise<void> {
  if (pod.process) await stopProcess(pod.process, 2000);
  await removePod(mesh.cluster, pod, podNetwork(mesh)).catch(() => undefined);
  await mesh.store.delete(registry.byType('Pod')!, pod.namespace, pod.name);
  await rm(mesh.layout.podRecord(pod.namespace, pod.name), { force: true });
  await rm(pod.log, { force: true });
}

/**
 * Runs a command inside the pod's network namespace, as its workload runs, in the
 * foreground; resolves with its exit code (128 + signal number when killed).
 */
export function execInPod(pod: PodRecord, command: readonly string[]): Promise<number> {
  const child = spawn('ip', ['netns', 'exec', pod.netns, 'setpriv', ...asWorkload(), ...command], {
    stdio: 'inherit',
    env: workloadEnv(pod),
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      resolve(code ?? 128 + (signal ? (osSignals[signal] ?? 1) : 1)),
    );
  });
}

const osSignals: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

function asWorkload(): string[] {
  return [`--reuid=${WORKLOAD_UID}`, `--regid=${WORKLOAD_UID}`, '--clear-groups', '--'];
}

/** A workload sees what a container would: its name and namespace, no root's environment. */
function workloadEnv(pod: PodRecord): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: '/tmp',
    HOSTNAME: pod.name,
    POD_NAME: pod.name,
    POD_NAMESPACE: pod.namespace,
    SERVICE_ACCOUNT: pod.serviceAccount,
    ...(process.env.AMBIT_LOG_LEVEL ? { AMBIT_LOG_LEVEL: process.env.AMBIT_LOG_LEVEL } : {}),
  };
}

async function leastLoadedNode(mesh: LocalMesh): Promise<string> {
  const pods = await listPods(mesh);
  const count = (node: string) => pods.filter((p) => p.node === node).length;
  return [...mesh.cluster.nodes].sort((a, b) => count(a.name) - count(b.name))[0]!.name;
}
