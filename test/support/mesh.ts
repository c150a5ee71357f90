import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Test } from 'tap';
import { stringify } from 'yaml';
import { addressPlan } from '../../local/addresses.js';
import { randomPrefix } from '../../local/names.js';
import { addPod, removePod, type LocalPod, type PodNetworkOptions } from '../../local/pods.js';
import { createCluster, type Cluster, type ClusterNode } from '../../local/topology.js';
import {
  AGENT_ADMIN_PORT,
  agentArgs,
  CONTROL_PLANE_PORT,
  CONTROL_PLANE_SERVERNAME,
  controlPlaneArgs,
  podObject,
  serviceObject,
  ZTUNNEL_READINESS_PORT,
  ztunnelArgs,
  type ContainerPort,
  type ServiceSpec,
} from '../../local/mesh/components.js';
import { AMBIT_BIN } from './ambit.js';
import { startAmbit, type AmbitProcess } from './process.js';
import { httpGetIn } from './netns.js';
import { claimCluster, removeCrashedRuns } from './run-owner.js';

export {
  AGENT_ADMIN_PORT,
  CONTROL_PLANE_PORT,
  CONTROL_PLANE_SERVERNAME,
  ZTUNNEL_READINESS_PORT,
} from '../../local/mesh/components.js';

export interface MeshOptions {
  nodes: number;
  /**
   * Start the data plane: per node `ambit cni-agent` and `ambit ztunnel` in the node
   * namespace, and Ambit's CNI plugin at the end of the pod chain. Default true; false
   * gives the topology and the control plane only.
   */
  dataplane?: boolean;
  /**
   * Callers besides the node tunnels that need a token for the control plane (a waypoint,
   * say): one token each, not bound to a node, written to the tokens file before the
   * control plane starts (it reads the file once). `Mesh.tokenFileFor` gives the file.
   */
  extraTokens?: readonly TokenSubject[];
}

/** Whom a token speaks for: the identity `spiffe://cluster.local/ns/<namespace>/sa/<sa>`. */
export interface TokenSubject {
  namespace: string;
  serviceAccount: string;
}

export interface MeshNode extends ClusterNode {
  /** Holds this node's ztunnel bearer token (the tokens file binds it to the node). */
  readonly tokenFile: string;
  readonly agent?: AmbitProcess;
  readonly ztunnel?: AmbitProcess;
}

export interface ControlPlaneEndpoint {
  readonly process: AmbitProcess;
  /** xDS and CA, gRPC over TLS, on the cluster bridge: `ip:port`. */
  readonly address: string;
  /** `http://127.0.0.1:<port>`: /ready, /metrics, /debug/config, /debug/connections. */
  readonly monitoringUrl: string;
  /** The root that signed the serving certificate (and every workload certificate). */
  readonly rootCertFile: string;
  /** The name to verify the serving certificate against. */
  readonly servername: string;
}

export type { ContainerPort, ServicePort, ServiceSpec } from '../../local/mesh/components.js';

export interface PodSpec {
  node: string;
  namespace: string;
  name: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Default `default`. */
  serviceAccount?: string;
  ports?: (number | ContainerPort)[];
}

export interface MeshPod extends LocalPod {
  readonly labels: Record<string, string>;
  readonly serviceAccount: string;
}

export interface MeshService {
  readonly namespace: string;
  readonly name: string;
  readonly clusterIP: string;
  /** `<name>.<namespace>.svc.cluster.local`. */
  readonly hostname: string;
}

export interface Mesh {
  readonly cluster: Cluster;
  /** The directory the control plane and node agents watch. */
  readonly configDir: string;
  readonly controlPlane: ControlPlaneEndpoint;
  readonly nodes: readonly MeshNode[];
  /** Writes (or replaces) `<name>` in the config directory, whole, in one rename. */
  apply(name: string, yaml: string): Promise<void>;
  /** Removes `<name>` from the config directory. */
  remove(name: string): Promise<void>;
  addNamespace(name: string, labels?: Record<string, string>): Promise<void>;
  /**
   * Rewrites a namespace added with `addNamespace` with these labels merged into its own
   * (`null` removes one).
   */
  labelNamespace(name: string, labels: Record<string, string | null>): Promise<void>;
  /** Runs the node's CNI chain for a new pod, then writes its Pod object (Running, Ready). */
  addPod(spec: PodSpec): Promise<MeshPod>;
  /** CNI DEL and namespace removal, then the Pod object goes. */
  removePod(pod: MeshPod): Promise<void>;
  /** Writes a Service with the next VIP from the cluster's service range. */
  addService(spec: ServiceSpec): Promise<MeshService>;
  /** Rewrites a Service from `addService`, same VIP, with labels merged (`null` removes one). */
  labelService(service: MeshService, labels: Record<string, string | null>): Promise<void>;
  /** The file holding the token of a subject listed in `MeshOptions.extraTokens`. */
  tokenFileFor(subject: TokenSubject): string;
  /**
   * Starts `ambit ARGS…` (in the named network namespace, when given) as part of the mesh:
   * stopped at the end of the test with the rest, before pods are removed.
   */
  startAmbit(args: string[], netns?: string): Promise<AmbitProcess>;
  /** Resolves when the control plane, every node agent and every ztunnel report ready. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Kills a node's ztunnel or agent (SIGKILL unless told) and starts a new one in its place. */
  restart(
    node: string,
    program: 'ztunnel' | 'agent',
    signal?: NodeJS.Signals,
  ): Promise<AmbitProcess>;
}

const STOP_DEADLINE_MS = 3000;

/**
 * A whole local mesh for one test: a cluster (local/), a config directory and tokens, the
 * control plane in the root namespace on the cluster bridge, and per node a node agent and
 * a ztunnel inside the node namespace. Everything goes at the end of the test, pass or
 * fail; clusters of earlier runs that died before their teardown are removed first.
 */
export async function startMesh(t: Test, options: MeshOptions): Promise<Mesh> {
  const dataplane = options.dataplane ?? true;
  await removeCrashedRuns();
  const prefix = randomPrefix();
  const owner = await claimCluster(prefix);
  let cluster: Cluster;
  try {
    cluster = await createCluster({ prefix, nodes: options.nodes });
  } catch (err) {
    await owner.release();
    throw err;
  }

  const processes: AmbitProcess[] = [];
  const pods = new Map<string, MeshPod>();
  const network: PodNetworkOptions = {
    ...(dataplane ? { ambitCniDir: dirname(AMBIT_BIN) } : {}),
    env: { AMBIT_LOG_LEVEL: 'warn' },
  };
  t.teardown(async () => {
    await Promise.all(processes.map((p) => p.stop(STOP_DEADLINE_MS)));
    const failures: unknown[] = [];
    for (const pod of pods.values())
      await removePod(cluster, pod, network).catch((err: unknown) => failures.push(err));
    await cluster.destroy();
    await owner.release();
    if (failures.length > 0) throw new AggregateError(failures, 'CNI DEL failed in teardown');
  });
  const start = async (args: string[], netns?: string): Promise<AmbitProcess> => {
    const started = startAmbit(t, args, netns ? { netns } : {});
    processes.push(started);
    if (started.child.pid !== undefined) await owner.addProcess(started.child.pid);
    return started;
  };

  const configDir = join(cluster.stateDir, 'config');
  const controlPlaneState = join(cluster.stateDir, 'controlplane');
  const tokensFile = join(cluster.stateDir, 'tokens.yaml');
  await mkdir(configDir);
  const tokens = cluster.nodes.map((node) => ({
    token: randomBytes(16).toString('hex'),
    namespace: 'istio-system',
    serviceAccount: 'ztunnel',
    node: node.name,
  }));
  const extraTokens = new Map<string, { token: string; file: string } & TokenSubject>();
  for (const subject of options.extraTokens ?? []) {
    const key = subjectKey(subject);
    const file = join(cluster.stateDir, `token-${subject.namespace}-${subject.serviceAccount}`);
    const entry = { ...subject, token: randomBytes(16).toString('hex'), file };
    extraTokens.set(key, entry);
    await writeFile(file, entry.token, { mode: 0o600 });
  }
  const tokenEntries = [
    ...tokens,
    ...[...extraTokens.values()].map(({ token, namespace, serviceAccount }) => ({
      token,
      namespace,
      serviceAccount,
    })),
  ];
  await writeFile(tokensFile, stringify(tokenEntries), { mode: 0o600 });

  const address = `${cluster.bridgeIp}:${CONTROL_PLANE_PORT}`;
  const controlPlaneProcess = await start(
    controlPlaneArgs({
      configDir,
      tokensFile,
      stateDir: controlPlaneState,
      address,
      monitoring: '127.0.0.1:0',
    }),
  );
  const serving = await controlPlaneProcess.waitForLog((l) => l.msg === 'control plane serving');
  const controlPlane: ControlPlaneEndpoint = {
    process: controlPlaneProcess,
    address,
    monitoringUrl: `http://${String(serving.monitoring)}`,
    rootCertFile: join(controlPlaneState, 'root-cert.pem'),
    servername: CONTROL_PLANE_SERVERNAME,
  };

  const nodes: MeshNode[] = [];
  for (const [i, node] of cluster.nodes.entries()) {
    const tokenFile = join(node.stateDir, 'token');
    await writeFile(tokenFile, tokens[i]!.token, { mode: 0o600 });
    if (!dataplane) {
      nodes.push({ ...node, tokenFile });
      continue;
    }
    const agent = await start(agentArgs(node, configDir), node.netns);
    const ztunnel = await start(ztunnelArgs(node, controlPlane, tokenFile), node.netns);
    nodes.push({ ...node, tokenFile, agent, ztunnel });
  }

  const apply = async (name: string, yaml: string): Promise<void> => {
    // Hidden while being written: the directory source skips dot files.
    const temporary = join(configDir, `.${name}.tmp`);
    await writeFile(temporary, yaml);
    await rename(temporary, join(configDir, name));
  };
  const plan = addressPlan(cluster.octet);
  let services = 0;
  const namespaceLabels = new Map<string, Record<string, string>>();
  const serviceSpecs = new Map<string, ServiceSpec & { clusterIP: string }>();
  const writeNamespace = (name: string, labels: Record<string, string>) => {
    namespaceLabels.set(name, labels);
    return apply(
      `namespace-${name}.yaml`,
      stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }),
    );
  };
  const writeService = (spec: ServiceSpec, clusterIP: string) => {
    serviceSpecs.set(`${spec.namespace}/${spec.name}`, { ...spec, clusterIP });
    return apply(
      `service-${spec.namespace}-${spec.name}.yaml`,
      stringify(serviceObject(spec, clusterIP)),
    );
  };

  return {
    cluster,
    configDir,
    controlPlane,
    nodes,
    apply,
    remove: (name) => rm(join(configDir, name), { force: true }),
    addNamespace: (name, labels = {}) => writeNamespace(name, labels),
    async labelNamespace(name, labels) {
      const current = namespaceLabels.get(name);
      if (current === undefined) throw new Error(`namespace ${name} was not added to this mesh`);
      await writeNamespace(name, mergeLabels(current, labels));
    },
    async addPod(spec) {
      const uid = randomUUID();
      const local = await addPod(
        cluster,
        spec.node,
        { namespace: spec.namespace, name: spec.name, uid },
        network,
      );
      const pod: MeshPod = {
        ...local,
        labels: spec.labels ?? {},
        serviceAccount: spec.serviceAccount ?? 'default',
      };
      pods.set(podFile(pod), pod);
      await apply(
        podFile(pod),
        stringify(
          podObject({
            ...pod,
            ...(spec.annotations ? { annotations: spec.annotations } : {}),
            ...(spec.ports ? { ports: spec.ports } : {}),
          }),
        ),
      );
      return pod;
    },
    async removePod(pod) {
      pods.delete(podFile(pod));
      await removePod(cluster, pod, network);
      await rm(join(configDir, podFile(pod)), { force: true });
    },
    async addService(spec) {
      const clusterIP = plan.serviceVip(++services);
      await writeService(spec, clusterIP);
      return {
        namespace: spec.namespace,
        name: spec.name,
        clusterIP,
        hostname: `${spec.name}.${spec.namespace}.svc.cluster.local`,
      };
    },
    async labelService(service, labels) {
      const spec = serviceSpecs.get(`${service.namespace}/${service.name}`);
      if (spec === undefined)
        throw new Error(`service ${service.namespace}/${service.name} was not added to this mesh`);
      const { clusterIP, ...rest } = spec;
      await writeService({ ...rest, labels: mergeLabels(spec.labels ?? {}, labels) }, clusterIP);
    },
    tokenFileFor(subject) {
      const entry = extraTokens.get(subjectKey(subject));
      if (entry === undefined)
        throw new Error(`no token for ${subjectKey(subject)}: list it in MeshOptions.extraTokens`);
      return entry.file;
    },
    startAmbit: (args, netns) => start(args, netns),
    async restart(nodeName, program, signal = 'SIGKILL') {
      const i = nodes.findIndex((n) => n.name === nodeName);
      const node = nodes[i];
      if (!node?.agent || !node.ztunnel) throw new Error(`no data plane on node ${nodeName}`);
      const old = program === 'ztunnel' ? node.ztunnel : node.agent;
      old.child.kill(signal);
      await old.stop(STOP_DEADLINE_MS);
      const started = await start(
        program === 'ztunnel'
          ? ztunnelArgs(node, controlPlane, node.tokenFile)
          : agentArgs(node, configDir),
        node.netns,
      );
      nodes[i] = { ...node, [program]: started };
      return started;
    },
    async waitReady(timeoutMs = 20_000) {
      const deadline = performance.now() + timeoutMs;
      const fromRoot = async (url: string) =>
        (await fetch(url, { signal: AbortSignal.timeout(1000) })).status;
      await untilOk(`${controlPlane.monitoringUrl}/ready`, fromRoot, deadline);
      for (const node of nodes) {
        if (!dataplane) continue;
        const fromNode = async (url: string) => (await httpGetIn(node.netnsPath, url, 1000)).status;
        await untilOk(`http://127.0.0.1:${AGENT_ADMIN_PORT}/ready`, fromNode, deadline);
        await untilOk(
          `http://127.0.0.1:${ZTUNNEL_READINESS_PORT}/healthz/ready`,
          fromNode,
          deadline,
        );
      }
    },
  };
}

function subjectKey(subject: TokenSubject): string {
  return `${subject.namespace}/${subject.serviceAccount}`;
}

function mergeLabels(
  current: Record<string, string>,
  changes: Record<string, string | null>,
): Record<string, string> {
  const merged = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}

function podFile(pod: LocalPod): string {
  return `pod-${pod.namespace}-${pod.name}.yaml`;
}

/** Polls `url` until it answers 200, or fails at the deadline with the last answer. */
async function untilOk(
  url: string,
  get: (url: string) => Promise<number>,
  deadline: number,
): Promise<void> {
  let last = 'no answer yet';
  for (;;) {
    try {
      const status = await get(url);
      if (status === 200) return;
      last = `HTTP ${status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (performance.now() > deadline) throw new Error(`${url} not ready: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
