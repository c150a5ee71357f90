import type { Test } from 'tap';
import { stringify } from 'yaml';
import type { ClusterPolicy, WaypointService } from '../../api/waypoint/config.js';
import { clusterName } from '../../api/waypoint/schema.js';
import { createEchoServer, type EchoServer } from '../../samples/echo/echo.js';
import { startMesh, type Mesh, type MeshPod, type MeshService } from '../support/mesh.js';
import { httpGetIn, listenIn } from '../support/netns.js';
import {
  addWaypoint,
  askEcho,
  scrapeWaypoint,
  useWaypoint,
  waitWaypointBound,
  waypointToken,
  WAYPOINT_ADMIN,
  type EchoAnswer,
} from '../support/waypoint.js';
import { metricSum, waitEnrolled } from '../support/ztunnel.js';

// What the DestinationRule suites share: a one-node mesh with a namespace waypoint, a client
// pod, echo backends that count the connections they are given, services over them, and
// ways to wait for a pushed policy to reach the waypoint and to read what it did.

const NAMESPACE = 'dr';

export interface BackendSpec {
  /** The pod's name; its echo reports `version` from the pod's `version` label. */
  name: string;
  labels: Record<string, string> & { version: string };
  /** Container ports the echo listens on. */
  ports: number[];
}

export interface ServiceSpec {
  name: string;
  selector: Record<string, string>;
  ports: { name: string; port: number; targetPort: number }[];
}

/** An echo in a pod, and the upstream connections it has been given (one per HBONE stream). */
export interface Backend {
  readonly pod: MeshPod;
  readonly echo: EchoServer;
  /** Connections accepted so far. */
  readonly accepted: number;
  /** Connections open now. */
  readonly open: number;
}

/** An endpoint of a cluster as the waypoint runs it (`/config_dump`). */
export interface DumpedEndpoint {
  endpoint: string;
  healthy: boolean;
  ejected: boolean;
}

export interface DumpedCluster {
  name: string;
  problem?: string;
  policy: ClusterPolicy;
  endpoints: DumpedEndpoint[];
}

export interface WaypointDump {
  services: WaypointService[];
  clusters: DumpedCluster[];
}

export interface DrMesh {
  readonly mesh: Mesh;
  readonly client: MeshPod;
  backend(name: string): Backend;
  service(name: string): MeshService;
  /** One request from the client pod to `service:port` through its VIP (so the waypoint). */
  ask(service: string, port: number, request?: Parameters<typeof askEcho>[2]): Promise<EchoAnswer>;
  /** Writes a DestinationRule `<name>` in the namespace (replacing one of that name). */
  destinationRule(name: string, spec: object): Promise<void>;
  /** Writes a VirtualService `<name>` in the namespace (replacing one of that name). */
  virtualService(name: string, spec: object): Promise<void>;
  /** `outbound|port|subset|host` of a service added here. */
  clusterName(service: string, port: number, subset?: string): string;
  /** The cluster as the waypoint runs it now, if it has one by that name. */
  cluster(name: string): Promise<DumpedCluster | undefined>;
  /** Polls the waypoint's `/config_dump` until `done` holds. */
  waitDump(what: string, done: (dump: WaypointDump) => boolean, timeoutMs?: number): Promise<void>;
  /** Polls the waypoint until the cluster exists and `done` holds; returns it. */
  waitCluster(
    name: string,
    done: (cluster: DumpedCluster) => boolean,
    timeoutMs?: number,
  ): Promise<DumpedCluster>;
  /** `ambit_waypoint_requests_total` with this status and flags, as the waypoint counts now. */
  requests(code: number, flags: string): Promise<number>;
}

/**
 * Starts the mesh, the backends, the services (all bound to the namespace waypoint) and the
 * client pod; resolves once every node tunnel sends the services' traffic to the waypoint.
 */
export async function startDrMesh(
  t: Test,
  spec: { backends: BackendSpec[]; services: ServiceSpec[] },
): Promise<DrMesh> {
  const mesh = await startMesh(t, { nodes: 1, extraTokens: [waypointToken(NAMESPACE)] });
  await mesh.addNamespace(NAMESPACE, { 'istio.io/dataplane-mode': 'ambient' });
  const client = await mesh.addPod({ node: 'node-1', namespace: NAMESPACE, name: 'client' });
  const backends = new Map<string, Backend>();
  for (const b of spec.backends) {
    const pod = await mesh.addPod({
      node: 'node-1',
      namespace: NAMESPACE,
      name: b.name,
      labels: b.labels,
      serviceAccount: 'backend',
      ports: b.ports,
    });
    backends.set(b.name, await serveCountingEcho(t, pod, b.ports, b.labels.version));
  }
  const services = new Map<string, MeshService>();
  for (const s of spec.services)
    services.set(s.name, await mesh.addService({ namespace: NAMESPACE, ...s }));
  const waypoint = await addWaypoint(mesh, { namespace: NAMESPACE, node: 'node-1' });
  await useWaypoint(mesh, NAMESPACE, waypoint.name);
  await mesh.waitReady();
  await waitEnrolled(
    mesh,
    [client, ...[...backends.values()].map((b) => b.pod)],
    [...services.values()].map((s) => s.hostname),
  );
  for (const service of services.values()) await waitWaypointBound(mesh, service, waypoint);

  const serviceNamed = (name: string): MeshService => {
    const service = services.get(name);
    if (service === undefined) throw new Error(`no service ${name} in this mesh`);
    return service;
  };
  const dump = async (): Promise<WaypointDump> => {
    const reply = await httpGetIn(waypoint.pod.netnsPath, `${WAYPOINT_ADMIN}/config_dump`, 2000);
    return JSON.parse(reply.body) as WaypointDump;
  };
  const cluster = async (name: string): Promise<DumpedCluster | undefined> =>
    (await dump()).clusters.find((c) => c.name === name);
  const resource = (kind: string, name: string, spec: object): string =>
    stringify({
      apiVersion: 'networking.istio.io/v1',
      kind,
      metadata: { name, namespace: NAMESPACE },
      spec,
    });
  return {
    mesh,
    client,
    backend(name) {
      const backend = backends.get(name);
      if (backend === undefined) throw new Error(`no backend ${name} in this mesh`);
      return backend;
    },
    service: serviceNamed,
    ask(name, port, request = {}) {
      const service = serviceNamed(name);
      return askEcho(
        client,
        { address: service.clusterIP, port },
        { ...request, headers: { host: `${name}:${port}`, ...request.headers } },
      );
    },
    destinationRule: (name, spec) =>
      mesh.apply(`destinationrule-${name}.yaml`, resource('DestinationRule', name, spec)),
    virtualService: (name, spec) =>
      mesh.apply(`virtualservice-${name}.yaml`, resource('VirtualService', name, spec)),
    clusterName: (name, port, subset) => clusterName(serviceNamed(name).hostname, port, subset),
    cluster,
    async waitDump(what, done, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      while (!done(await dump())) {
        if (performance.now() > deadline) throw new Error(`waypoint config: no ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async waitCluster(name, done, timeoutMs = 10_000) {
      const deadline = performance.now() + timeoutMs;
      let last: DumpedCluster | undefined;
      for (;;) {
        last = await cluster(name);
        if (last !== undefined && done(last)) return last;
        if (performance.now() > deadline)
          throw new Error(`cluster ${name} at the waypoint: ${JSON.stringify(last)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async requests(code, flags) {
      return metricSum(await scrapeWaypoint(waypoint), 'ambit_waypoint_requests_total', {
        response_code: String(code),
        response_flags: flags,
      });
    },
  };
}

/** An echo on each of `ports` in the pod, counting the connections it accepts. */
async function serveCountingEcho(
  t: Test,
  pod: MeshPod,
  ports: number[],
  version: string,
): Promise<Backend> {
  const echo = createEchoServer({ name: pod.name, version });
  let accepted = 0;
  let open = 0;
  for (const port of ports)
    await listenIn(t, pod.netnsPath, { port }, (socket) => {
      accepted++;
      open++;
      socket.once('close', () => open--);
      echo.handle(socket);
    });
  t.teardown(() => echo.close());
  return {
    pod,
    echo,
    get accepted() {
      return accepted;
    },
    get open() {
      return open;
    },
  };
}

/** The endpoints of a dumped cluster by pod IP (the `ip:port` key without its port). */
export function endpointIps(cluster: DumpedCluster): string[] {
  return cluster.endpoints.map((e) => e.endpoint.slice(0, e.endpoint.lastIndexOf(':'))).sort();
}

/** `n` results of `fn`, at most `concurrency` running at once, in the order they finished. */
export async function concurrently<T>(
  n: number,
  concurrency: number,
  fn: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) results.push(await fn(next++));
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker));
  return results;
}

/** The pod (or, when the mesh answered itself, the status) of each answer, counted. */
export function tally(answers: readonly EchoAnswer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const key = answer.reply?.pod ?? `HTTP ${answer.status}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
