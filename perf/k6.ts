import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BenchmarkError } from './errors.js';
import type { Scope } from './scope.js';
import { runInNetns } from './tool.js';

/** Where `make k6` builds k6, relative to the repository root. */
export const K6_BIN = resolve('.tools/bin/k6');
/** The load script: one keep-alive GET per iteration. */
export const HTTP_SCRIPT = resolve('perf/k6/http.js');

/** What one constant-load k6 run measured. */
export interface HttpLoad {
  /** Virtual users; each keeps one connection open for the whole run. */
  connections: number;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Requests that got no answer or a non-2xx/3xx one. */
  failed: number;
}

export interface HttpLoadOptions {
  netns: string;
  url: string;
  connections: number;
  durationSeconds: number;
  /** For the summary file. */
  workDir: string;
}

/** Runs k6 inside `netns` against `url` with a constant number of connections. */
export async function runHttpLoad(scope: Scope, options: HttpLoadOptions): Promise<HttpLoad> {
  const step = `k6 ${options.connections} connection(s) to ${options.url}`;
  const summary = join(options.workDir, `k6-${process.hrtime.bigint()}.json`);
  await runInNetns(
    scope,
    step,
    options.netns,
    [
      K6_BIN,
      'run',
      '--quiet',
      '--no-usage-report',
      '--vus',
      String(options.connections),
      '--duration',
      `${options.durationSeconds}s`,
      '--summary-trend-stats',
      'p(50),p(99)',
      '--summary-export',
      summary,
      '-e',
      `URL=${options.url}`,
      HTTP_SCRIPT,
    ],
    // Belt and braces with the flag: no usage report leaves the machine.
    { K6_NO_USAGE_REPORT: 'true' },
  );
  return parseSummary(step, await readFile(summary, 'utf8'), options.connections);
}

interface SummaryExport {
  metrics: Record<string, Record<string, number> | undefined>;
}

/** Reads k6's `--summary-export` JSON. */
export function parseSummary(step: string, text: string, connections: number): HttpLoad {
  const { metrics } = JSON.parse(text) as SummaryExport;
  const value = (metric: string, field: string): number => {
    const v = metrics[metric]?.[field];
    if (typeof v !== 'number')
      throw new BenchmarkError(step, `k6's summary has no ${metric} ${field}`);
    return v;
  };
  const requests = value('http_reqs', 'count');
  if (requests === 0) throw new BenchmarkError(step, 'k6 made no request');
  return {
    connections,
    requestsPerSecond: value('http_reqs', 'rate'),
    p50Ms: value('http_req_duration', 'p(50)'),
    p99Ms: value('http_req_duration', 'p(99)'),
    requests,
    // A Rate metric counts its true samples (here: failed requests) as `passes`.
    failed: value('http_req_failed', 'passes'),
  };
}
