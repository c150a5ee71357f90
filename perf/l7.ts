import os from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { startMesh, type Mesh, type MeshPod } from '../test/support/mesh.js';
import { httpGetIn, listenIn } from '../test/support/netns.js';
import {
  addWaypoint,
  scrapeWaypoint,
  useWaypoint,
  waitWaypointBound,
  waypointToken,
  type MeshWaypoint,
} from '../test/support/waypoint.js';
import { metricSum, waitEnrolled } from '../test/support/ztunnel.js';
import { cpuMs } from './cpu.js';
import { BenchmarkError } from './errors.js';
import { runHttpLoad, type HttpLoad } from './k6.js';
import { CONNECTIONS } from './report.js';
import {
  formatCpuTable,
  formatL7Table,
  l7Ratios,
  MESH_PROCESSES,
  type L7PathName,
  type L7PathResults,
  type L7Results,
  type MeshProcess,
} from './report-l7.js';
import {
  collectProfiles,
  positiveInteger,
  prepare,
  progress,
  runInScope,
  tinyHttpServer,
  writeResults,
} from './common.js';
import type { Scope } from './scope.js';

// The L7 benchmark (not a test): requests/s and latency at 1, 16 and 64 keep-alive
// connections between a client pod on node-1 and a server pod on node-2 of a local two-node
// mesh, three ways: directly (pods outside the mesh, pod IP); through both nodes' ztunnels
// only (ambient pods, Service VIP); and through a namespace waypoint as well (ambient pods
// whose namespace uses a waypoint, Service VIP, one VirtualService route). The waypoint's
// pod is on node-2 unless told otherwise, so that every mesh path crosses between the nodes
// once over HBONE: node-1's ztunnel → waypoint (node-2) → node-2's ztunnel → server. k6
// makes the requests. Run from the repository root after `make build k6`:
//
//   node dist/perf/l7.js [--duration 10] [--waypoint-node node-2] [--cpu-prof DIR]
//
// Prints a table of req/s and latency with ratios to direct, and one of the mesh processes'
// CPU time per request (steadier than req/s on a shared machine); writes
// perf/results/l7-<date>.json; progress goes to stderr.

const USAGE = `usage: node dist/perf/l7.js [--duration SECONDS] [--waypoint-node NODE] [--cpu-prof DIR]
  --duration        seconds of load per connection count (default 10)
  --waypoint-node   node-1 (the client's) or node-2 (the server's, default) for the waypoint
  --cpu-prof        write the waypoint's and ztunnels' V8 CPU profiles into DIR and print
                    their hottest functions`;

const HTTP_PORT = 8080;
const SERVICE_PORT = 80;
/** The namespace whose services go through the waypoint. */
const L7_NAMESPACE = 'l7';
/** The VirtualService's route sets it on every answer, so a probe can tell the route is live. */
const ROUTE_HEADER = 'x-perf-route';
const WARMUP_SECONDS = 3;
const SETUP_MS = 60_000;
const WARMUP_CONNECTIONS = 16;
const WAYPOINT_REQUESTS = 'ambit_waypoint_requests_total';

interface Options {
  durationSeconds: number;
  waypointNode: 'node-1' | 'node-2';
  cpuProfDir: string | undefined;
}

/** One way from a client pod to a server pod. */
interface Path {
  name: L7PathName;
  client: MeshPod;
  url: string;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '10' },
      'waypoint-node': { type: 'string', default: 'node-2' },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const duration = positiveInteger('duration', values.duration);
  const node = values['waypoint-node'];
  if (node !== 'node-1' && node !== 'node-2')
    throw new BenchmarkError('options', `--waypoint-node wants node-1 or node-2, not ${node}`);
  return {
    durationSeconds: duration,
    waypointNode: node,
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
  };
}

/** In `namespace`, a client pod on node-1 and a server pod on node-2 served from here. */
async function addPair(
  scope: Scope,
  mesh: Mesh,
  namespace: string,
): Promise<{ client: MeshPod; server: MeshPod }> {
  const client = await mesh.addPod({ node: 'node-1', namespace, name: 'client' });
  const server = await mesh.addPod({
    node: 'node-2',
    namespace,
    name: 'server',
    labels: { app: 'server' },
    ports: [HTTP_PORT],
  });
  const httpServer = tinyHttpServer();
  await listenIn(scope.asTest(), server.netnsPath, { port: HTTP_PORT }, (socket) =>
    httpServer.emit('connection', socket),
  );
  return { client, server };
}

/** One route to the service itself, marking its answers: the least a waypoint routes. */
function virtualService(namespace: string): string {
  return stringify({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name: 'server', namespace },
    spec: {
      hosts: ['server'],
      http: [
        {
          route: [{ destination: { host: 'server' } }],
          headers: { response: { set: { [ROUTE_HEADER]: 'l7' } } },
        },
      ],
    },
  });
}

/**
 * Three namespaces, each with a client pod on node-1 and a server pod on node-2: `plain`
 * is outside the mesh (direct, to the pod IP); `ambient` is in it, its server behind a
 * Service (ztunnel only, to the VIP); `l7` is in it and uses a namespace waypoint, with a
 * VirtualService on its Service (waypoint, to the VIP).
 */
async function buildPaths(
  scope: Scope,
  mesh: Mesh,
  waypointNode: string,
): Promise<{ paths: Path[]; waypoint: MeshWaypoint }> {
  await mesh.addNamespace('plain');
  await mesh.addNamespace('ambient', { 'istio.io/dataplane-mode': 'ambient' });
  await mesh.addNamespace(L7_NAMESPACE, { 'istio.io/dataplane-mode': 'ambient' });
  const plain = await addPair(scope, mesh, 'plain');
  const ambient = await addPair(scope, mesh, 'ambient');
  const l7 = await addPair(scope, mesh, L7_NAMESPACE);
  const addService = (namespace: string) =>
    mesh.addService({
      namespace,
      name: 'server',
      selector: { app: 'server' },
      ports: [{ name: 'http', port: SERVICE_PORT, targetPort: HTTP_PORT }],
    });
  const ambientService = await addService('ambient');
  const l7Service = await addService(L7_NAMESPACE);
  const waypoint = await addWaypoint(mesh, { namespace: L7_NAMESPACE, node: waypointNode });
  await useWaypoint(mesh, L7_NAMESPACE, waypoint.name);
  await mesh.apply('l7-virtualservice.yaml', virtualService(L7_NAMESPACE));
  // Generous deadlines: a benchmark may run on a busy machine, and nothing here is timed.
  await mesh.waitReady(SETUP_MS);
  await waitEnrolled(
    mesh,
    [ambient.client, ambient.server, l7.client, l7.server],
    [ambientService.hostname, l7Service.hostname],
    SETUP_MS,
  );
  await waitWaypointBound(mesh, l7Service, waypoint, SETUP_MS);
  const paths: Path[] = [
    { name: 'direct', client: plain.client, url: `http://${plain.server.ip}:${HTTP_PORT}/` },
    { name: 'ztunnel', client: ambient.client, url: `http://${ambientService.clusterIP}/` },
    { name: 'waypoint', client: l7.client, url: `http://${l7Service.clusterIP}/` },
  ];
  for (const path of paths) await probe(path);
  return { paths, waypoint };
}

/**
 * One good answer on the path; on the waypoint path, one that the VirtualService's route
 * marked (the route reaches the waypoint a moment after it is written: ask until then).
 */
async function probe(path: Path): Promise<void> {
  const deadline = performance.now() + SETUP_MS;
  for (;;) {
    const reply = await httpGetIn(path.client.netnsPath, path.url);
    const routed = path.name !== 'waypoint' || reply.headers[ROUTE_HEADER] === 'l7';
    if (reply.status === 200 && routed) return;
    if (performance.now() > deadline)
      throw new BenchmarkError(
        `probe ${path.name}`,
        `GET ${path.url} answered ${reply.status}${routed ? '' : ` without ${ROUTE_HEADER}`}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The mesh's processes by name, as pids, for their CPU time. */
function meshPids(mesh: Mesh, waypoint: MeshWaypoint): Map<MeshProcess, number> {
  const pids = new Map<MeshProcess, number>();
  const add = (name: MeshProcess, pid: number | undefined): void => {
    if (pid === undefined) throw new BenchmarkError('start', `${name} has no process`);
    pids.set(name, pid);
  };
  add('ztunnel-node-1', mesh.nodes[0]?.ztunnel?.child.pid);
  add('ztunnel-node-2', mesh.nodes[1]?.ztunnel?.child.pid);
  add('waypoint', waypoint.process.child.pid);
  return pids;
}

async function cpuNow(pids: ReadonlyMap<MeshProcess, number>): Promise<Map<MeshProcess, number>> {
  const now = new Map<MeshProcess, number>();
  for (const [name, pid] of pids) now.set(name, await cpuMs(pid));
  return now;
}

/**
 * Loads the path at each connection count after a warm-up; counts the mesh's CPU time over
 * the measured loads. On the waypoint path, checks by the waypoint's request counter that
 * the measured requests went through the waypoint.
 */
async function measure(
  scope: Scope,
  path: Path,
  mesh: { pids: ReadonlyMap<MeshProcess, number>; waypoint: MeshWaypoint },
  options: Options,
  workDir: string,
): Promise<L7PathResults> {
  const load = (connections: number, durationSeconds: number) =>
    runHttpLoad(scope, {
      netns: path.client.netns,
      url: path.url,
      connections,
      durationSeconds,
      workDir,
    });
  const waypointCount = async () =>
    metricSum(await scrapeWaypoint(mesh.waypoint), WAYPOINT_REQUESTS, {});
  progress(`${path.name}: warm-up, ${WARMUP_CONNECTIONS} connections for ${WARMUP_SECONDS} s`);
  await load(WARMUP_CONNECTIONS, WARMUP_SECONDS);
  const countedBefore = path.name === 'waypoint' ? await waypointCount() : 0;
  const cpu = new Map<MeshProcess, number>(MESH_PROCESSES.map((p) => [p, 0]));
  const http: HttpLoad[] = [];
  for (const connections of CONNECTIONS) {
    progress(`${path.name}: ${connections} connection(s) for ${options.durationSeconds} s`);
    const before = await cpuNow(mesh.pids);
    const result = await load(connections, options.durationSeconds);
    const after = await cpuNow(mesh.pids);
    for (const [name, ms] of after) cpu.set(name, cpu.get(name)! + ms - before.get(name)!);
    if (result.failed > 0)
      throw new BenchmarkError(
        `${path.name} at ${connections} connection(s)`,
        `${result.failed} of ${result.requests} requests failed`,
      );
    progress(
      `${path.name}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`,
    );
    http.push(result);
  }
  const requests = http.reduce((sum, r) => sum + r.requests, 0);
  if (path.name === 'waypoint') {
    const through = (await waypointCount()) - countedBefore;
    if (through < requests)
      throw new BenchmarkError(
        'waypoint path',
        `the waypoint counted ${through} requests, fewer than the ${requests} k6 made`,
      );
  }
  const perRequest = (name: MeshProcess): number => (1000 * cpu.get(name)!) / requests;
  return {
    http,
    cpuMicrosPerRequest: {
      'ztunnel-node-1': perRequest('ztunnel-node-1'),
      'ztunnel-node-2': perRequest('ztunnel-node-2'),
      waypoint: perRequest('waypoint'),
    },
  };
}

async function run(scope: Scope, options: Options): Promise<L7Results> {
  const { machine, workDir, rawProfiles } = await prepare(scope, options.cpuProfDir);

  progress('starting a two-node mesh (control plane, node agents, ztunnels)');
  const mesh = await startMesh(scope.asTest(), {
    nodes: 2,
    extraTokens: [waypointToken(L7_NAMESPACE)],
  });
  progress(
    `mesh ${mesh.cluster.prefix} up; adding pods, services, a waypoint on ${options.waypointNode} and a VirtualService`,
  );
  const { paths, waypoint } = await buildPaths(scope, mesh, options.waypointNode);
  const pids = meshPids(mesh, waypoint);
  const measured: Partial<Record<L7PathName, L7PathResults>> = {};
  for (const path of paths)
    measured[path.name] = await measure(scope, path, { pids, waypoint }, options, workDir);
  const loadAverageAtEnd = os.loadavg()[0]!;
  if (options.cpuProfDir && rawProfiles)
    await collectProfiles(
      [
        { name: 'waypoint', program: waypoint.process },
        ...mesh.nodes.map((node) => ({ name: `ztunnel-${node.name}`, program: node.ztunnel })),
      ],
      rawProfiles,
      options.cpuProfDir,
    );

  const byPath = {
    direct: measured.direct!,
    ztunnel: measured.ztunnel!,
    waypoint: measured.waypoint!,
  };
  return {
    benchmark: 'l7',
    date: new Date().toISOString(),
    machine: { ...machine, loadAverageAtEnd },
    settings: {
      durationSeconds: options.durationSeconds,
      warmupSeconds: WARMUP_SECONDS,
      waypointNode: options.waypointNode,
    },
    ...byPath,
    ratio: l7Ratios(byPath),
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const results = await runInScope((scope) => run(scope, options));
  const { machine: m, settings: s } = results;
  console.log(
    `\nL7 benchmark, ${m.cpus} CPUs (${m.cpuModel}, load ${m.loadAverage.toFixed(1)} at start, ${m.loadAverageAtEnd.toFixed(1)} at end), ${s.durationSeconds} s per load, waypoint on ${s.waypointNode}; ratio = path / direct\n`,
  );
  console.log(formatL7Table(results));
  console.log(
    '\nCPU time of the mesh per request, µs (user + system, the three loads, warm-up excluded)\n',
  );
  console.log(formatCpuTable(results));
  if (options.cpuProfDir) {
    console.log('\nprofiled run (V8 sampling slows the mesh): results not written');
    return 0;
  }
  await writeResults(results);
  return 0;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(err);
  return 1;
});
