import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startMesh, type Mesh, type MeshPod } from '../test/support/mesh.js';
import { httpGetIn, listenIn } from '../test/support/netns.js';
import { waitEnrolled } from '../test/support/ztunnel.js';
import { bulkSource, receiveBulk } from './bulk.js';
import { cpuMs } from './cpu.js';
import { BenchmarkError } from './errors.js';
import { runHttpLoad } from './k6.js';
import {
  CONNECTIONS,
  formatTable,
  formatTargets,
  ratios,
  targets,
  type L4Results,
  type PathResults,
} from './report.js';
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

// The L4 benchmark (not a test): requests/s and latency at 1, 16 and 64 keep-alive
// connections, and the MB/s of one long stream, between a client pod on node-1 and a server
// pod on node-2 of a local two-node mesh, once directly (pods outside the mesh, pod IP) and
// once through both nodes' ztunnels (ambient pods, Service VIP, HBONE between the nodes).
// k6 makes the requests; the stream goes server to client, read by dd (see bulk.ts). Run from the
// repository root after `make build k6` (`make perf` does both):
//
//   node dist/perf/l4.js [--duration 10] [--bulk-mib 2048] [--bulk-only] [--cpu-prof DIR]
//
// Prints a table, writes perf/results/l4-<date>.json; progress goes to stderr.

const USAGE = `usage: node dist/perf/l4.js [--duration SECONDS] [--bulk-mib MIB] [--bulk-only] [--cpu-prof DIR]
  --duration   seconds of load per connection count (default 10)
  --bulk-mib   size of the bulk stream (default 2048)
  --bulk-only  measure only the bulk stream, not requests
  --cpu-prof   write the ztunnels' V8 CPU profiles into DIR and print their hottest functions`;

const HTTP_PORT = 8080;
const BULK_PORT = 9000;
const WARMUP_SECONDS = 3;
const SETUP_MS = 60_000;
const WARMUP_CONNECTIONS = 16;

interface Options {
  durationSeconds: number;
  bulkMebibytes: number;
  bulkOnly: boolean;
  cpuProfDir: string | undefined;
}

/** One way from the client pod to the server pod. */
interface Path {
  name: 'direct' | 'ztunnel';
  client: MeshPod;
  url: string;
  bulk: { address: string; port: number };
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '10' },
      'bulk-mib': { type: 'string', default: '2048' },
      'bulk-only': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  return {
    durationSeconds: positiveInteger('duration', values.duration),
    bulkMebibytes: positiveInteger('bulk-mib', values['bulk-mib']),
    bulkOnly: values['bulk-only'],
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
  };
}

/** A pod on node-2 serving the tiny HTTP answer and bulk streams, from this process. */
async function addServer(
  scope: Scope,
  mesh: Mesh,
  namespace: string,
  bulkMebibytes: number,
): Promise<MeshPod> {
  const server = await mesh.addPod({
    node: 'node-2',
    namespace,
    name: 'server',
    labels: { app: 'server' },
    ports: [HTTP_PORT, BULK_PORT],
  });
  const httpServer = tinyHttpServer();
  await listenIn(scope.asTest(), server.netnsPath, { port: HTTP_PORT }, (socket) =>
    httpServer.emit('connection', socket),
  );
  await listenIn(scope.asTest(), server.netnsPath, { port: BULK_PORT }, bulkSource(bulkMebibytes));
  return server;
}

/**
 * Two namespaces, each with a client pod on node-1 and a server pod on node-2: `plain` is
 * outside the mesh (the direct path, to the pod IP); `ambient` is in it, and its server sits
 * behind a Service (the ztunnel path, to the VIP).
 */
async function buildPaths(scope: Scope, mesh: Mesh, bulkMebibytes: number): Promise<Path[]> {
  await mesh.addNamespace('plain');
  await mesh.addNamespace('ambient', { 'istio.io/dataplane-mode': 'ambient' });
  const plainClient = await mesh.addPod({ node: 'node-1', namespace: 'plain', name: 'client' });
  const plainServer = await addServer(scope, mesh, 'plain', bulkMebibytes);
  const meshClient = await mesh.addPod({ node: 'node-1', namespace: 'ambient', name: 'client' });
  const meshServer = await addServer(scope, mesh, 'ambient', bulkMebibytes);
  const service = await mesh.addService({
    namespace: 'ambient',
    name: 'server',
    selector: { app: 'server' },
    ports: [
      { name: 'http', port: 80, targetPort: HTTP_PORT },
      { name: 'bulk', port: 90, targetPort: BULK_PORT },
    ],
  });
  // Generous deadlines: a benchmark may run on a busy machine, and nothing here is timed.
  await mesh.waitReady(SETUP_MS);
  await waitEnrolled(mesh, [meshClient, meshServer], [service.hostname], SETUP_MS);
  const paths: Path[] = [
    {
      name: 'direct',
      client: plainClient,
      url: `http://${plainServer.ip}:${HTTP_PORT}/`,
      bulk: { address: plainServer.ip, port: BULK_PORT },
    },
    {
      name: 'ztunnel',
      client: meshClient,
      url: `http://${service.clusterIP}/`,
      bulk: { address: service.clusterIP, port: 90 },
    },
  ];
  for (const path of paths) {
    const reply = await httpGetIn(path.client.netnsPath, path.url);
    if (reply.status !== 200)
      throw new BenchmarkError(`probe ${path.name}`, `GET ${path.url} answered ${reply.status}`);
  }
  return paths;
}

async function measure(
  scope: Scope,
  path: Path,
  options: Options,
  workDir: string,
  ztunnelPids: readonly number[],
): Promise<PathResults> {
  const load = (connections: number, durationSeconds: number) =>
    runHttpLoad(scope, {
      netns: path.client.netns,
      url: path.url,
      connections,
      durationSeconds,
      workDir,
    });
  const results: PathResults['http'] = [];
  if (!options.bulkOnly) {
    progress(`${path.name}: warm-up, ${WARMUP_CONNECTIONS} connections for ${WARMUP_SECONDS} s`);
    await load(WARMUP_CONNECTIONS, WARMUP_SECONDS);
  }
  for (const connections of options.bulkOnly ? [] : CONNECTIONS) {
    progress(`${path.name}: ${connections} connection(s) for ${options.durationSeconds} s`);
    const result = await load(connections, options.durationSeconds);
    if (result.failed > 0)
      throw new BenchmarkError(
        `${path.name} at ${connections} connection(s)`,
        `${result.failed} of ${result.requests} requests failed`,
      );
    progress(
      `${path.name}: ${result.requestsPerSecond.toFixed(0)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms`,
    );
    results.push(result);
  }
  progress(`${path.name}: one ${options.bulkMebibytes} MiB stream, server to client`);
  const before = await ztunnelsCpuMs(ztunnelPids);
  const bulk = await receiveBulk(scope, path.client.netns, path.bulk, options.bulkMebibytes);
  const cpuMsPerGib =
    ((await ztunnelsCpuMs(ztunnelPids)) - before) / (options.bulkMebibytes / 1024);
  progress(`${path.name}: ${bulk.megabytesPerSecond.toFixed(0)} MB/s`);
  return { http: results, bulk: { ...bulk, ztunnelCpuSecondsPerGib: cpuMsPerGib / 1000 } };
}

/** The CPU time both ztunnels have used so far. */
async function ztunnelsCpuMs(pids: readonly number[]): Promise<number> {
  let sum = 0;
  for (const pid of pids) sum += await cpuMs(pid);
  return sum;
}

async function run(scope: Scope, options: Options): Promise<L4Results> {
  const { machine, workDir, rawProfiles } = await prepare(scope, options.cpuProfDir);

  progress('starting a two-node mesh (control plane, node agents, ztunnels)');
  const mesh = await startMesh(scope.asTest(), { nodes: 2 });
  progress(`mesh ${mesh.cluster.prefix} up; adding pods and a service, waiting for enrollment`);
  const paths = await buildPaths(scope, mesh, options.bulkMebibytes);
  const ztunnelPids = mesh.nodes.map((node) => {
    const pid = node.ztunnel?.child.pid;
    if (pid === undefined) throw new BenchmarkError('setup', `no ztunnel process on ${node.name}`);
    return pid;
  });
  const measured: Partial<Record<Path['name'], PathResults>> = {};
  for (const path of paths)
    measured[path.name] = await measure(scope, path, options, workDir, ztunnelPids);
  if (options.cpuProfDir && rawProfiles)
    await collectProfiles(
      mesh.nodes.map((node) => ({ name: `ztunnel-${node.name}`, program: node.ztunnel })),
      rawProfiles,
      options.cpuProfDir,
    );

  const direct = measured.direct!;
  const ztunnel = measured.ztunnel!;
  const ratio = ratios(direct, ztunnel);
  return {
    benchmark: 'l4',
    date: new Date().toISOString(),
    machine,
    settings: {
      durationSeconds: options.durationSeconds,
      warmupSeconds: WARMUP_SECONDS,
      bulkMebibytes: options.bulkMebibytes,
      bulkOnly: options.bulkOnly,
    },
    direct,
    ztunnel,
    ratio,
    targets: targets(ztunnel, ratio),
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const results = await runInScope((scope) => run(scope, options));
  const { machine: m, settings: s } = results;
  console.log(
    `\nL4 benchmark, ${m.cpus} CPUs (${m.cpuModel}, load ${m.loadAverage.toFixed(1)} at start), ${s.durationSeconds} s per load, ${s.bulkMebibytes} MiB bulk stream; MB = 10^6 bytes; ratio = ztunnel / direct\n`,
  );
  console.log(formatTable(results));
  console.log(`\n${formatTargets(results.targets)}`);
  if (options.cpuProfDir) {
    console.log('\nprofiled run (V8 sampling slows the ztunnels): results not written');
    return 0;
  }
  await writeResults(results);
  return 0;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(err);
  return 1;
});
