import type { BulkResult } from './bulk.js';
import type { HttpLoad } from './k6.js';

/** Connections (k6 VUs) each path is loaded with. */
export const CONNECTIONS = [1, 16, 64] as const;

/** The bar: a plain prototype of the path on a 2-core machine reached these. */
export const TARGET_REQUESTS_RATIO = 1 / 3;
export const TARGET_BULK_MEGABYTES_PER_SECOND = 640;

export interface PathResults {
  /** One entry per CONNECTIONS value, in that order. */
  http: HttpLoad[];
  bulk: BulkResult;
}

/** ztunnel divided by direct: below 1 is slower for throughput, above 1 slower for latency. */
export interface Ratios {
  http: { connections: number; requestsPerSecond: number; p50: number; p99: number }[];
  bulk: number;
}

export interface Target {
  what: string;
  value: number;
  target: number;
  met: boolean;
}

export interface L4Results {
  benchmark: 'l4';
  /** ISO 8601, when the run finished. */
  date: string;
  machine: {
    cpus: number;
    cpuModel: string;
    /** 1-minute load average before the mesh started: above 0 means shared CPUs. */
    loadAverage: number;
    kernel: string;
    node: string;
    k6: string;
  };
  settings: { durationSeconds: number; warmupSeconds: number; bulkMebibytes: number };
  direct: PathResults;
  ztunnel: PathResults;
  ratio: Ratios;
  targets: Target[];
}

export function ratios(direct: PathResults, ztunnel: PathResults): Ratios {
  return {
    http: direct.http.map((d, i) => {
      const z = ztunnel.http[i]!;
      return {
        connections: d.connections,
        requestsPerSecond: z.requestsPerSecond / d.requestsPerSecond,
        p50: z.p50Ms / d.p50Ms,
        p99: z.p99Ms / d.p99Ms,
      };
    }),
    bulk: ztunnel.bulk.megabytesPerSecond / direct.bulk.megabytesPerSecond,
  };
}

export function targets(ztunnel: PathResults, ratio: Ratios): Target[] {
  return [
    ...ratio.http.map((r) => ({
      what: `ztunnel/direct req/s at ${plural(r.connections, 'connection')}`,
      value: r.requestsPerSecond,
      target: TARGET_REQUESTS_RATIO,
      met: r.requestsPerSecond >= TARGET_REQUESTS_RATIO,
    })),
    {
      what: 'ztunnel bulk MB/s',
      value: ztunnel.bulk.megabytesPerSecond,
      target: TARGET_BULK_MEGABYTES_PER_SECOND,
      met: ztunnel.bulk.megabytesPerSecond >= TARGET_BULK_MEGABYTES_PER_SECOND,
    },
  ];
}

/** The results as a fixed-width table: rows direct, ztunnel, ratio. */
export function formatTable(results: L4Results): string {
  const groups = results.direct.http.map((h) => plural(h.connections, 'connection'));
  const header1 = ['', ...groups.flatMap((g) => [g, '', '']), 'bulk'];
  const header2 = ['', ...groups.flatMap(() => ['req/s', 'p50 ms', 'p99 ms']), 'MB/s'];
  const row = (name: string, path: PathResults): string[] => [
    name,
    ...path.http.flatMap((h) => [h.requestsPerSecond.toFixed(0), ms(h.p50Ms), ms(h.p99Ms)]),
    path.bulk.megabytesPerSecond.toFixed(0),
  ];
  const ratioRow = [
    'ratio',
    ...results.ratio.http.flatMap((r) => [times(r.requestsPerSecond), times(r.p50), times(r.p99)]),
    times(results.ratio.bulk),
  ];
  const rows = [
    header1,
    header2,
    row('direct', results.direct),
    row('ztunnel', results.ztunnel),
    ratioRow,
  ];
  const widths = header2.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  // A group title spans its three columns, so it is laid out over their joint width.
  const line = (cells: string[], r: number): string =>
    cells
      .map((cell, c) => {
        if (c === 0) return cell.padEnd(widths[0]!);
        if (r === 0 && (c - 1) % 3 === 0 && c < cells.length - 1) {
          const span = widths[c]! + widths[c + 1]! + widths[c + 2]! + 4;
          return cell.padStart(span);
        }
        if (r === 0 && c < cells.length - 1) return undefined;
        return cell.padStart(widths[c]!);
      })
      .filter((cell) => cell !== undefined)
      .join('  ');
  return rows.map(line).join('\n');
}

export function formatTargets(list: readonly Target[]): string {
  return list
    .map((t) => {
      const fraction = t.target < 1;
      const value = fraction ? t.value.toFixed(2) : t.value.toFixed(0);
      const target = fraction ? t.target.toFixed(2) : t.target.toFixed(0);
      return `${t.met ? 'met    ' : 'NOT met'}  ${t.what}: ${value} (target >= ${target})`;
    })
    .join('\n');
}

function ms(value: number): string {
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

function times(value: number): string {
  return `${value.toFixed(2)}x`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
