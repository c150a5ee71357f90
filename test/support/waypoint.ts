import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type http from 'node:http';
import type { Test } from 'tap';
import { stringify } from 'yaml';
import {
  createEchoServer,
  type EchoOptions,
  type EchoReply,
  type EchoServer,
} from '../../samples/echo/echo.js';
import { waypointArgs } from '../../local/mesh/components.js';
import { waypointGateway } from '../../local/mesh/waypoints.js';
import { childEnv } from './ambit.js';
import type { Mesh, MeshPod, MeshService, TokenSubject } from './mesh.js';
import { httpGetIn, httpIn, listenIn, type HttpReply } from './netns.js';
import type { AmbitProcess } from './process.js';
import { ZTUNNEL_ADMIN } from './ztunnel.js';

// What the waypoint suites share: a waypoint (its Gateway, Service, Pod and a running
// `ambit waypoint` in the pod's namespace), binding services to it, and echo backends
// (samples/echo) in pods, in-process or as programs.

/** The waypoint's ports (contract: l7-contract.md, "Program"), inside its pod's namespace. */
export const WAYPOINT_ADMIN = 'http://127.0.0.1:15000';
export const WAYPOINT_METRICS = 'http://127.0.0.1:15020';
export const WAYPOINT_READINESS = 'http://127.0.0.1:15021';
/** Where the waypoint takes HBONE (the Gateway's `mesh` listener). */
export const WAYPOINT_HBONE_PORT = 15008;

/** Labels Istio puts on a waypoint's pods and Service (istio/api label definitions). */
const GATEWAY_NAME = 'gateway.networking.k8s.io/gateway-name';
const GATEWAY_MANAGED = 'gateway.istio.io/managed';
const USE_WAYPOINT = 'istio.io/use-waypoint';

export interface WaypointSpec {
  namespace: string;
  /** The Gateway's name; default `waypoint` (what `istioctl waypoint apply` makes). */
  name?: string;
  /** The node whose pod network the waypoint's pod joins. */
  node: string;
  /** `istio.io/waypoint-for`; Istio's default, `service`, when absent. */
  for?: 'service' | 'workload' | 'all';
  /** Default the Gateway's name, as Istio's deployer does. */
  serviceAccount?: string;
}

export interface MeshWaypoint {
  readonly namespace: string;
  readonly name: string;
  readonly serviceAccount: string;
  /** `spiffe://cluster.local/ns/<namespace>/sa/<serviceAccount>`. */
  readonly identity: string;
  /** Its pod (not captured: `istio.io/dataplane-mode=none`); `pod.ip` is where it listens. */
  readonly pod: MeshPod;
  /** The Service clients' node tunnels resolve the waypoint through (port 15008). */
  readonly service: MeshService;
  readonly process: AmbitProcess;
}

/** The token a waypoint needs: list it in `startMesh`'s `extraTokens` (read at start). */
export function waypointToken(
  namespace: string,
  name = 'waypoint',
  serviceAccount = name,
): TokenSubject {
  return { namespace, serviceAccount };
}

/**
 * Deploys a waypoint as Istio's deployer would: the Gateway (class `istio-waypoint`,
 * listener `mesh` 15008 HBONE), a Service `<name>` selecting its pod, and the pod
 * `<name>-0` running `ambit waypoint` with its own token. Resolves once the waypoint says it
 * is ready (synced with the control plane). The mesh must have been started with
 * `extraTokens: [waypointToken(namespace, name)]`.
 */
export async function addWaypoint(mesh: Mesh, spec: WaypointSpec): Promise<MeshWaypoint> {
  const { namespace, node } = spec;
  const name = spec.name ?? 'waypoint';
  const serviceAccount = spec.serviceAccount ?? name;
  const tokenFile = mesh.tokenFileFor({ namespace, serviceAccount });
  await mesh.apply(
    `gateway-${namespace}-${name}.yaml`,
    stringify(waypointGateway({ namespace, name, ...(spec.for ? { for: spec.for } : {}) })),
  );
  const service = await mesh.addService({
    namespace,
    name,
    selector: { [GATEWAY_NAME]: name },
    ports: [
      { name: 'mesh', port: WAYPOINT_HBONE_PORT },
      { name: 'status-port', port: 15021 },
    ],
    labels: { [GATEWAY_NAME]: name, [GATEWAY_MANAGED]: 'istio.io-mesh-controller' },
  });
  const pod = await mesh.addPod({
    node,
    namespace,
    name: `${name}-0`,
    labels: {
      [GATEWAY_NAME]: name,
      [GATEWAY_MANAGED]: 'istio.io-mesh-controller',
      // The waypoint terminates HBONE itself; the node tunnel must leave its pod alone.
      'istio.io/dataplane-mode': 'none',
    },
    serviceAccount,
    ports: [
      { containerPort: WAYPOINT_HBONE_PORT, name: 'mesh' },
      { containerPort: 15020, name: 'metrics' },
      { containerPort: 15021, name: 'status-port' },
    ],
  });
  const process = await mesh.startAmbit(
    waypointArgs({ name, namespace, serviceAccount }, mesh.controlPlane, tokenFile),
    pod.netns,
  );
  await waitProxyReady(pod, process, 'waypoint');
  return {
    namespace,
    name,
    serviceAccount,
    identity: `spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}`,
    pod,
    service,
    process,
  };
}

/**
 * Polls a proxy's `/healthz/ready` (15021) in its pod; fails at once, with its logs, if the
 * program exits. `program` names it in errors (`waypoint`, `gateway`).
 */
export async function waitProxyReady(
  pod: MeshPod,
  process: AmbitProcess,
  program: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = 'no answer yet';
  const logs = () => process.logs.map((l) => JSON.stringify(l)).join('\n');
  for (;;) {
    if (process.child.exitCode !== null || process.child.signalCode !== null)
      throw new Error(`ambit ${program} exited (${process.child.exitCode}); logs:\n${logs()}`);
    try {
      const reply = await httpGetIn(pod.netnsPath, `${WAYPOINT_READINESS}/healthz/ready`, 1000);
      if (reply.status === 200) return;
      last = `HTTP ${reply.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (performance.now() > deadline)
      throw new Error(
        `${program} ${pod.namespace}/${pod.name} not ready: ${last}; logs:\n${logs()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Sets (or with `null` removes) `istio.io/use-waypoint` on a namespace (by name) or on a
 * Service from `mesh.addService`.
 */
export async function useWaypoint(
  mesh: Mesh,
  target: string | MeshService,
  waypoint: string | null,
): Promise<void> {
  if (typeof target === 'string') await mesh.labelNamespace(target, { [USE_WAYPOINT]: waypoint });
  else await mesh.labelService(target, { [USE_WAYPOINT]: waypoint });
}

interface DumpedService {
  hostname: string;
  waypoint?: { address: string };
  endpoints: { healthy: boolean }[];
}

/**
 * Waits until every node tunnel sends traffic for `service` to `waypoint`: it knows the
 * service's waypoint by address and the waypoint's Service has a healthy endpoint.
 */
export async function waitWaypointBound(
  mesh: Mesh,
  service: MeshService,
  waypoint: MeshWaypoint,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last = '';
  const bound = async (): Promise<boolean> => {
    for (const node of mesh.nodes) {
      const reply = await httpGetIn(node.netnsPath, `${ZTUNNEL_ADMIN}/config_dump`, 2000);
      const { services } = JSON.parse(reply.body) as { services: DumpedService[] };
      const target = services.find((s) => s.hostname === service.hostname);
      const through = services.find((s) => s.hostname === waypoint.service.hostname);
      if (target?.waypoint?.address !== waypoint.service.clusterIP) {
        last = `${node.name}: ${service.hostname} has waypoint ${JSON.stringify(target?.waypoint)}`;
        return false;
      }
      if (!through?.endpoints.some((e) => e.healthy)) {
        last = `${node.name}: ${waypoint.service.hostname} has no healthy endpoint`;
        return false;
      }
    }
    return true;
  };
  while (!(await bound().catch((err: unknown) => ((last = String(err)), false)))) {
    if (performance.now() > deadline) throw new Error(`waypoint not bound: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Prometheus text from a waypoint's metrics port. */
export async function scrapeWaypoint(waypoint: MeshWaypoint): Promise<string> {
  const reply = await httpGetIn(waypoint.pod.netnsPath, `${WAYPOINT_METRICS}/metrics`, 2000);
  if (reply.status !== 200) throw new Error(`waypoint metrics: HTTP ${reply.status}`);
  return reply.body;
}

// Echo backends.

/**
 * An echo (samples/echo) served from the test process inside a pod's namespace, on `port`
 * of every address. Its connections arrive through the pod's node tunnel like any app's.
 */
export async function serveEcho(
  t: Test,
  pod: MeshPod,
  options: EchoOptions & { port: number },
): Promise<EchoServer> {
  const echo = createEchoServer({ name: pod.name, ...options });
  await listenIn(t, pod.netnsPath, { port: options.port }, echo.handle);
  t.teardown(() => echo.close());
  return echo;
}

const ECHO_MAIN = fileURLToPath(new URL('../../samples/echo/main.js', import.meta.url));

/**
 * The echo as a program inside a pod's namespace, as user nobody, the way a workload runs:
 * `ip netns exec <pod> setpriv … node samples/echo/main.js --port … --version … --name <pod>`.
 * Resolves once it listens; killed when the test ends.
 */
export async function runEcho(
  t: Test,
  pod: MeshPod,
  options: { port: number; version: string; args?: string[] },
): Promise<{ pid: number }> {
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      pod.netns,
      'setpriv',
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      ECHO_MAIN,
      '--port',
      String(options.port),
      '--version',
      options.version,
      '--name',
      pod.name,
      ...(options.args ?? []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: childEnv({ AMBIT_LOG_LEVEL: 'info' }) },
  );
  t.teardown(() => void child.kill('SIGKILL'));
  const output: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`echo in ${pod.name} did not start`)), 10_000);
    createInterface({ input: child.stderr! }).on('line', (line) => {
      output.push(line);
      if (line.includes('"echo listening"')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`echo in ${pod.name} exited ${code}: ${output.join('\n')}`));
    });
  });
  return { pid: child.pid! };
}

export interface EchoAnswer extends HttpReply {
  /** The echo's description of the request, when the echo (not the mesh) answered. */
  reply?: EchoReply;
}

/**
 * One HTTP request from inside `from` (a client pod's namespace, captured) to an echo
 * behind `to` (a service's VIP, or a pod's IP), with the echo's JSON parsed.
 */
export async function askEcho(
  from: { netnsPath: string },
  to: { address: string; port: number },
  request: {
    method?: string;
    path?: string;
    headers?: Record<string, string>;
    body?: string;
    agent?: http.Agent;
    timeoutMs?: number;
  } = {},
): Promise<EchoAnswer> {
  const answer = await httpIn(from.netnsPath, { ...to, ...request });
  const fromEcho = answer.headers['x-echo-version'] !== undefined;
  return fromEcho ? { ...answer, reply: JSON.parse(answer.body) as EchoReply } : answer;
}
