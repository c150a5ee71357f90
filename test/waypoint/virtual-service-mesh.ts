import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Test } from 'tap';
import { stringify } from 'yaml';
import { createEchoServer, type EchoServer } from '../../samples/echo/echo.js';
import { startMesh, type Mesh, type MeshPod, type MeshService } from '../support/mesh.js';
import { listenIn, netnsAgent } from '../support/netns.js';
import {
  addWaypoint,
  askEcho,
  useWaypoint,
  waitWaypointBound,
  waypointToken,
  type EchoAnswer,
  type MeshWaypoint,
} from '../support/waypoint.js';
import { waitEnrolled } from '../support/ztunnel.js';

// The mesh the VirtualService suites share: one node, one ambient namespace whose waypoint
// every service is bound to, client pods, and services whose pods (labelled `version`)
// serve an echo — or, for mirroring, a recorder that keeps what it was sent — on each port.

const NODE = 'node-1';

export interface BackendSpec {
  name: string;
  /** Service ports, named `http`, `http-2`, …; each pod listens on the same numbers. */
  ports: number[];
  /** One pod per version, labelled `app: <name>, version: <version>`. */
  versions: string[];
  /** What the pods serve: the echo (default), or a recorder of the requests it is sent. */
  serves?: 'echo' | 'recorder';
  /** Versions whose pods listen on nothing: a connection to them is refused. */
  down?: string[];
}

export interface VsMeshSpec {
  namespace: string;
  clients: { name: string; labels?: Record<string, string> }[];
  backends: BackendSpec[];
}

/** A request as a recorder received it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly host: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A backend that answers `status` after `delayMs` and keeps every request it was sent. */
export interface Recorder {
  readonly requests: RecordedRequest[];
  readonly behaviour: { status: number; delayMs: number };
}

export interface VsBackend {
  readonly service: MeshService;
  readonly pods: Readonly<Record<string, MeshPod>>;
  /** By version, when the backend serves the echo. */
  readonly echoes: Readonly<Record<string, EchoServer>>;
  /** By version, when the backend is a recorder. */
  readonly recorders: Readonly<Record<string, Recorder>>;
}

export interface VsRequest {
  /** A client's name; default the first client. */
  from?: string;
  /** A backend's name. */
  to: string;
  /** Default the backend's first port. */
  port?: number;
  method?: string;
  path?: string;
  /** `host` defaults to `<backend>:<port>`, as a client calling the service by name sends. */
  headers?: Record<string, string>;
  body?: string;
  agent?: http.Agent;
  timeoutMs?: number;
}

export interface VsMesh {
  readonly mesh: Mesh;
  readonly waypoint: MeshWaypoint;
  readonly namespace: string;
  readonly clients: Readonly<Record<string, MeshPod>>;
  readonly backends: Readonly<Record<string, VsBackend>>;
  /**
   * Writes these resources (as one multi-document YAML file, in the mesh's namespace unless
   * they name one) into the config directory.
   */
  apply(file: string, ...resources: object[]): Promise<void>;
  /** One HTTP request from a client pod to a backend service's VIP, through the waypoint. */
  ask(request: VsRequest): Promise<EchoAnswer>;
  /**
   * Asks until `done` holds for an answer (config reaches the waypoint a moment after it is
   * written), and returns that answer; fails after `timeoutMs` naming what came meanwhile.
   */
  eventually(
    what: string,
    request: VsRequest,
    done: (answer: EchoAnswer) => boolean,
    timeoutMs?: number,
  ): Promise<EchoAnswer>;
}

export async function startVsMesh(t: Test, spec: VsMeshSpec): Promise<VsMesh> {
  const { namespace } = spec;
  const mesh = await startMesh(t, { nodes: 1, extraTokens: [waypointToken(namespace)] });
  await mesh.addNamespace(namespace, { 'istio.io/dataplane-mode': 'ambient' });
  // Pods, services and the waypoint do not depend on each other: made all at once.
  const clientPods = Promise.all(
    spec.clients.map((client) =>
      mesh.addPod({
        node: NODE,
        namespace,
        name: client.name,
        labels: client.labels ?? { app: client.name },
        serviceAccount: client.name,
      }),
    ),
  );
  const backendList = Promise.all(
    spec.backends.map((backend) => addBackend(t, mesh, namespace, backend)),
  );
  const [waypoint, clientList, backendValues] = await Promise.all([
    addWaypoint(mesh, { namespace, node: NODE }),
    clientPods,
    backendList,
  ]);
  const clients = Object.fromEntries(clientList.map((pod) => [pod.name, pod]));
  const backends = Object.fromEntries(
    backendValues.map((backend, i) => [spec.backends[i]!.name, backend]),
  );
  await useWaypoint(mesh, namespace, waypoint.name);
  await mesh.waitReady();
  const services = Object.values(backends).map((b) => b.service);
  const pods = [
    ...Object.values(clients),
    ...Object.values(backends).flatMap((b) => Object.values(b.pods)),
  ];
  await waitEnrolled(
    mesh,
    pods,
    services.map((s) => s.hostname),
  );
  for (const service of services) await waitWaypointBound(mesh, service, waypoint);

  const firstClient = spec.clients[0]!.name;
  const ask = (request: VsRequest): Promise<EchoAnswer> => {
    const backend = backends[request.to];
    if (backend === undefined) throw new Error(`no backend ${request.to}`);
    const port = request.port ?? spec.backends.find((b) => b.name === request.to)!.ports[0]!;
    const from = clients[request.from ?? firstClient]!;
    return askEcho(
      from,
      { address: backend.service.clusterIP, port },
      {
        ...(request.method !== undefined && { method: request.method }),
        ...(request.path !== undefined && { path: request.path }),
        ...(request.body !== undefined && { body: request.body }),
        ...(request.agent !== undefined && { agent: request.agent }),
        ...(request.timeoutMs !== undefined && { timeoutMs: request.timeoutMs }),
        headers: { host: `${request.to}:${port}`, ...request.headers },
      },
    );
  };
  return {
    mesh,
    waypoint,
    namespace,
    clients,
    backends,
    apply: (file, ...resources) =>
      mesh.apply(file, resources.map((r) => stringify(inNamespace(r, namespace))).join('---\n')),
    ask,
    async eventually(what, request, done, timeoutMs = 15_000) {
      const deadline = performance.now() + timeoutMs;
      const seen: string[] = [];
      for (;;) {
        const answer = await ask(request).catch((err: unknown) => err as Error);
        if (!(answer instanceof Error) && done(answer)) return answer;
        seen.push(describe(answer));
        if (performance.now() > deadline)
          throw new Error(
            `${what}: not seen in ${timeoutMs} ms; answers meanwhile: ${summary(seen)}`,
          );
        // A poll interval, so that a refused connection does not spin.
        await sleep(20);
      }
    },
  };
}

/** A backend's pods, each serving (unless down) on every port, and its Service. */
async function addBackend(
  t: Test,
  mesh: Mesh,
  namespace: string,
  backend: BackendSpec,
): Promise<VsBackend> {
  const pods: Record<string, MeshPod> = {};
  const echoes: Record<string, EchoServer> = {};
  const recorders: Record<string, Recorder> = {};
  const service = mesh.addService({
    namespace,
    name: backend.name,
    selector: { app: backend.name },
    ports: backend.ports.map((port, i) => ({ name: i === 0 ? 'http' : `http-${i + 1}`, port })),
  });
  await Promise.all(
    backend.versions.map(async (version) => {
      const pod = await mesh.addPod({
        node: NODE,
        namespace,
        name: `${backend.name}-${version}`,
        labels: { app: backend.name, version },
        serviceAccount: backend.name,
        ports: backend.ports,
      });
      pods[version] = pod;
      if (backend.down?.includes(version)) return;
      if (backend.serves === 'recorder') {
        recorders[version] = await serveRecorder(t, pod, backend.ports);
        return;
      }
      const echo = createEchoServer({ name: pod.name, version });
      t.teardown(() => echo.close());
      for (const port of backend.ports) await listenIn(t, pod.netnsPath, { port }, echo.handle);
      echoes[version] = echo;
    }),
  );
  return { service: await service, pods, echoes, recorders };
}

function inNamespace(resource: object, namespace: string): object {
  const { metadata } = resource as { metadata?: Record<string, unknown> };
  return { ...resource, metadata: { namespace, ...metadata } };
}

function describe(answer: EchoAnswer | Error): string {
  if (answer instanceof Error) return answer.message;
  if (answer.reply !== undefined) return `HTTP ${answer.status} from ${answer.reply.pod}`;
  return `HTTP ${answer.status} ${answer.body.slice(0, 60)}`;
}

/** The distinct answers seen, with how many times each came. */
function summary(seen: string[]): string {
  const counts = new Map<string, number>();
  for (const s of seen) counts.set(s, (counts.get(s) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} × ${s}`).join('; ');
}

async function serveRecorder(t: Test, pod: MeshPod, ports: number[]): Promise<Recorder> {
  const recorder: Recorder = { requests: [], behaviour: { status: 200, delayMs: 0 } };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => {
      recorder.requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        host: req.headers.host ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const { status, delayMs } = recorder.behaviour;
      const timer = setTimeout(() => res.writeHead(status).end(), delayMs);
      res.once('close', () => clearTimeout(timer));
    });
  });
  for (const port of ports)
    await listenIn(t, pod.netnsPath, { port }, (socket) => server.emit('connection', socket));
  return recorder;
}

/** Counts answers under the version that gave them, or `HTTP <status>` when no echo did. */
export function tally(answers: readonly EchoAnswer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const key = answer.reply?.version ?? `HTTP ${answer.status}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** `n` requests, `parallel` at a time over kept-alive connections, in order of asking. */
export async function askMany(
  vs: VsMesh,
  t: Test,
  n: number,
  request: VsRequest,
  parallel = 16,
): Promise<EchoAnswer[]> {
  const from = vs.clients[request.from ?? Object.keys(vs.clients)[0]!]!;
  const agent = netnsAgent(t, from.netnsPath, { maxSockets: parallel });
  const answers: EchoAnswer[] = [];
  for (let done = 0; done < n; done += parallel) {
    const batch = Math.min(parallel, n - done);
    answers.push(
      ...(await Promise.all(Array.from({ length: batch }, () => vs.ask({ ...request, agent })))),
    );
  }
  agent.destroy();
  return answers;
}

/** A VirtualService for `hosts` in the mesh's namespace. */
export function virtualService(
  name: string,
  hosts: string[],
  http: object[],
): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name },
    spec: { hosts, http },
  };
}

/**
 * A DestinationRule for `host` with one subset per version (label `version`), and a
 * `loadBalancer.simple` when given.
 */
export function subsetsRule(
  host: string,
  versions: string[],
  loadBalancer?: 'RANDOM' | 'ROUND_ROBIN' | 'LEAST_REQUEST',
): Record<string, unknown> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name: host },
    spec: {
      host,
      subsets: versions.map((version) => ({ name: version, labels: { version } })),
      ...(loadBalancer !== undefined && {
        trafficPolicy: { loadBalancer: { simple: loadBalancer } },
      }),
    },
  };
}
