import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import type { AmbitProcess } from '../test/support/process.js';
import { BenchmarkError } from './errors.js';
import { K6_BIN } from './k6.js';
import { BUSY_LOAD, describeMachine } from './machine.js';
import { hotFunctions, keepProfiles, profileAmbitProcesses } from './profile.js';
import type { L4Results } from './report.js';
import { Scope } from './scope.js';

// What every benchmark does the same way: progress lines, the tiny server it measures
// against, the checks and work directory before a run, and profile collection after it.

/** A process given this long to exit writes its V8 profile; killed, it writes none. */
const PROFILED_STOP_MS = 20_000;

export function progress(message: string): void {
  process.stderr.write(`perf: ${message}\n`);
}

/** `--flag N` for a whole number above 0. */
export function positiveInteger(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new BenchmarkError('options', `--${flag} wants a whole number above 0, not ${text}`);
  return n;
}

/** A tiny keep-alive HTTP answer: the benchmark measures the path, not the server. */
export function tinyHttpServer(): http.Server {
  return http.createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
    response.end('ok');
  });
}

export interface Preparation {
  readonly machine: L4Results['machine'];
  readonly workDir: string;
  /** Where V8 writes raw profiles, when profiling was asked for. */
  readonly rawProfiles?: string;
}

/**
 * Checks the build and k6 are there, warns when the machine is busy, and makes a work
 * directory (removed with the scope); with `cpuProfDir`, every ambit process profiles.
 */
export async function prepare(scope: Scope, cpuProfDir: string | undefined): Promise<Preparation> {
  if (!existsSync('dist/cli/main.js') || !existsSync('bin/ambit'))
    throw new BenchmarkError('start', 'run from the repository root after `make build`');
  if (!existsSync(K6_BIN)) throw new BenchmarkError('start', `no ${K6_BIN}: run \`make k6\``);
  const machine = await describeMachine();
  if (machine.loadAverage > BUSY_LOAD)
    progress(
      `warning: load average ${machine.loadAverage.toFixed(1)} before the start: other work shares the CPUs, so the numbers will be low and noisy`,
    );
  const workDir = await mkdtemp(join(os.tmpdir(), 'ambit-perf-'));
  scope.teardown(() => rm(workDir, { recursive: true, force: true }));
  if (cpuProfDir === undefined) return { machine, workDir };
  await mkdir(cpuProfDir, { recursive: true });
  return { machine, workDir, rawProfiles: await profileAmbitProcesses(scope, cpuProfDir) };
}

/** Stops the named processes gracefully (V8 writes profiles on exit) and prints hot spots. */
export async function collectProfiles(
  programs: readonly { name: string; program: AmbitProcess | undefined }[],
  raw: string,
  dir: string,
): Promise<void> {
  progress(`stopping ${programs.map((p) => p.name).join(', ')} to collect their CPU profiles`);
  const names = new Map<number, string>();
  for (const { name, program } of programs) {
    const pid = program?.child.pid;
    if (pid === undefined) continue;
    names.set(pid, name);
    // Killed at the deadline, a process writes no profile: say so rather than just omit it.
    const code = await program!.stop(PROFILED_STOP_MS);
    if (code !== 0)
      progress(`${name} exited with ${code ?? 'a signal'}: its profile may be missing`);
  }
  for (const file of await keepProfiles(raw, dir, names)) {
    console.log(`\n${file}: hottest functions (self time, share of busy time)`);
    for (const f of await hotFunctions(file, 25))
      console.log(
        `${f.selfMs.toFixed(0).padStart(7)} ms ${f.percent.toFixed(1).padStart(5)}%  ${f.name}  ${f.where}`,
      );
  }
}

/** Runs a benchmark in a scope that is cleaned up on success, failure, SIGINT or SIGTERM. */
export async function runInScope<T>(run: (scope: Scope) => Promise<T>): Promise<T> {
  const scope = new Scope();
  const interrupt = (signal: NodeJS.Signals): void => {
    progress(`${signal}: cleaning up`);
    void scope.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    return await run(scope);
  } finally {
    progress('cleaning up');
    await scope.close();
  }
}

const RESULTS_DIR = 'perf/results';

/** Writes `perf/results/<benchmark>-<date>.json` (a same-day run replaces it). */
export async function writeResults(results: { benchmark: string; date: string }): Promise<void> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${results.benchmark}-${results.date.slice(0, 10)}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nresults written to ${file}`);
}
