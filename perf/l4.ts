import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { promisify, parseArgs } from 'node:util';
import { startMesh, type Mesh, type MeshPod } from '../test/support/mesh.js';
import { httpGetIn, listenIn } from '../test/support/netns.js';
import { waitEnrolled } from '../test/support/ztunnel.js';
import { bulkSource, receiveBulk } from './bulk.js';
import { BenchmarkError } from './errors.js';
import { K6_BIN, runHttpLoad } from './k6.js';
import { hotFunctions, keepProfiles, profileAmbitProcesses } from './profile.js';
import {
  CONNECTIONS,
  formatTable,
  formatTargets,
  ratios,
  targets,
  type L4Results,
  type PathResults,
} from './report.js';
import { Scope } from './scope.js';

// The L4 benchmark (not a test): requests/s and latency at 1, 16 and 64 keep-alive
// connections, and the MB/s of one long stream, between a client pod on node-1 and a server
// pod on node-2 of a local two-node mesh, once directly (pods outside the mesh, pod IP) and
// once through both nodes' ztunnels (ambient pods, Service VIP, HBONE between the nodes).
// k6 makes the requests; the stream goes server to client, read by dd (see bulk.ts). Run from the
// repository root after `make build k6` (`make perf` does both):
//
//   node dist/perf/l4.js [--duration 10] [--bulk-mib 2048] [--cpu-prof DIR]
//
// Prints a table, writes perf/results/l4-<date>.json; progress goes to stderr.

const USAGE = `usage: node dist/perf/l4.js [--duration SECONDS] [--bulk-mib MIB] [--cpu-prof DIR]
  --duration   seconds of load per connection count (default 10)
  --bulk-mib   size of the bulk stream (default 2048)
  --cpu-prof   write the ztunnels' V8 CPU profiles into DIR and print their hottest functions`;

const HTTP_PORT = 8080;
const BULK_PORT = 9000;
const WARMUP_SECONDS = 3;
const SETUP_MS = 60_000;
const WARMUP_CONNECTIONS = 16;
const RESULTS_DIR = 'perf/results';
/** Long enough for a ztunnel to drain and write its profile. */
const PROFILED_STOP_MS = 20_000;
/** A 1-minute load average above this before the start means something else is running. */
const BUSY_LOAD = 0.5;

interface Options {
  durationSeconds: number;
  bulkMebibytes: number;
  cpuProfDir: string | undefined;
}

/** One way from the client pod to the server pod. */
interface Path {
  name: 'direct' | 'ztunnel';
  client: MeshPod;
  url: string;
  bulk: { address: string; port: number };
}

function progress(message: string): void {
  process.stderr.write(`perf: ${message}\n`);
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string', default: '10' },
      'bulk-mib': { type: 'string', default: '2048' },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const positive = (flag: string, text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1)
      throw new BenchmarkError('options', `--${flag} wants a whole number above 0, not ${text}`);
    return n;
  };
  return {
    durationSeconds: positive('duration', values.duration),
    bulkMebibytes: positive('bulk-mib', values['bulk-mib']),
    cpuProfDir: values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']),
  };
}

/** A tiny keep-alive HTTP answer: the benchmark measures the path, not the server. */
function tinyHttpServer(): http.Server {
  return http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    response.end('ok');
  });
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
): Promise<PathResults> {
  const load = (connections: number, durationSeconds: number) =>
    runHttpLoad(scope, {
      netns: path.client.netns,
      url: path.url,
      connections,
      durationSeconds,
      workDir,
    });
  progress(`${path.name}: warm-up, ${WARMUP_CONNECTIONS} connections for ${WARMUP_SECONDS} s`);
  await load(WARMUP_CONNECTIONS, WARMUP_SECONDS);
  const results: PathResults['http'] = [];
  for (const connections of CONNECTIONS) {
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
  const bulk = await receiveBulk(scope, path.client.netns, path.bulk, options.bulkMebibytes);
  progress(`${path.name}: ${bulk.megabytesPerSecond.toFixed(0)} MB/s`);
  return { http: results, bulk };
}

async function machine(): Promise<L4Results['machine']> {
  const { stdout } = await promisify(execFile)(K6_BIN, ['version']);
  return {
    loadAverage: os.loadavg()[0]!,
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    kernel: os.release(),
    node: process.version,
    k6: stdout.trim().split('\n')[0] ?? 'unknown',
  };
}

/** Stops the ztunnels gracefully (V8 writes profiles on exit) and prints their hot spots. */
async function collectProfiles(mesh: Mesh, raw: string, dir: string): Promise<void> {
  progress('stopping the ztunnels to collect their CPU profiles');
  const names = new Map<number, string>();
  for (const node of mesh.nodes) {
    const pid = node.ztunnel?.child.pid;
    if (pid === undefined) continue;
    names.set(pid, `ztunnel-${node.name}`);
    await node.ztunnel!.stop(PROFILED_STOP_MS);
  }
  for (const file of await keepProfiles(raw, dir, names)) {
    console.log(`\n${file}: hottest functions (self time, share of busy time)`);
    for (const f of await hotFunctions(file, 25))
      console.log(
        `${f.selfMs.toFixed(0).padStart(7)} ms ${f.percent.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`,
      );
  }
}

async function run(scope: Scope, options: Options): Promise<L4Results> {
  if (!existsSync('dist/cli/main.js') || !existsSync('bin/ambit'))
    throw new BenchmarkError('start', 'run from the repository root after `make build`');
  if (!existsSync(K6_BIN)) throw new BenchmarkError('start', `no ${K6_BIN}: run \`make k6\``);
  const info = await machine();
  if (info.loadAverage > BUSY_LOAD)
    progress(
      `warning: load average ${info.loadAverage.toFixed(1)} before the start: other work shares the CPUs, so the numbers will be low and noisy`,
    );
  const workDir = await mkdtemp(join(os.tmpdir(), 'ambit-perf-'));
  scope.teardown(() => rm(workDir, { recursive: true, force: true }));
  const profiles = options.cpuProfDir;
  if (profiles) await mkdir(profiles, { recursive: true });
  const raw = profiles ? await profileAmbitProcesses(scope, profiles) : undefined;

  progress('starting a two-node mesh (control plane, node agents, ztunnels)');
  const mesh = await startMesh(scope.asTest(), { nodes: 2 });
  progress(`mesh ${mesh.cluster.prefix} up; adding pods and a service, waiting for enrollment`);
  const paths = await buildPaths(scope, mesh, options.bulkMebibytes);
  const measured: Partial<Record<Path['name'], PathResults>> = {};
  for (const path of paths) measured[path.name] = await measure(scope, path, options, workDir);
  if (profiles && raw) await collectProfiles(mesh, raw, profiles);

  const direct = measured.direct!;
  const ztunnel = measured.ztunnel!;
  const ratio = ratios(direct, ztunnel);
  return {
    benchmark: 'l4',
    date: new Date().toISOString(),
    machine: info,
    settings: {
      durationSeconds: options.durationSeconds,
      warmupSeconds: WARMUP_SECONDS,
      bulkMebibytes: options.bulkMebibytes,
    },
    direct,
    ztunnel,
    ratio,
    targets: targets(ztunnel, ratio),
  };
}

async function main(): Promise<number> {
  const options = parseOptions(process.argv.slice(2));
  const scope = new Scope();
  const interrupt = (signal: NodeJS.Signals): void => {
    progress(`${signal}: cleaning up`);
    void scope.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  let results: L4Results;
  try {
    results = await run(scope, options);
  } finally {
    progress('cleaning up');
    await scope.close();
  }
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
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `l4-${results.date.slice(0, 10)}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults written to ${file}`);
  return 0;
}

process.exitCode = await main().catch((err: unknown) => {
  console.error(err);
  return 1;
});
