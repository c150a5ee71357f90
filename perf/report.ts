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
  bulk: BulkResult & {
    /**
     * CPU seconds both ztunnels spent per GiB of the stream (near 0 on the direct path). A
     * shared machine moves it far less than it moves MB/s.
     */
    ztunnelCpuSecondsPerGib: number;
  };
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
  settings: {
    durationSeconds: number;
    warmupSeconds: number;
    bulkMebibytes: number;
    /** Requests were not measured: every `http` list is empty. */
    bulkOnly: boolean;
  };
  direct: PathResults;
  ztunnel: PathResults;
  ratio: Ratios;
  targets: Target[];
}

/** One connection count's requests/s, p50 and p99 on some path, divided by direct's. */
export type HttpRatio = Ratios['http'][number];

export function ratios(direct: PathResults, ztunnel: PathResults): Ratios {
  return {
    http: httpRatios(direct.http, ztunnel.http),
    bulk: ztunnel.bulk.megabytesPerSecond / direct.bulk.megabytesPerSecond,
  };
}

/** `path` divided by `direct`, connection count by connection count (same order). */
export function httpRatios(direct: readonly HttpLoad[], path: readonly HttpLoad[]): HttpRatio[] {
  return direct.map((d, i) => {
    const p = path[i]!;
    return {
      connections: d.connections,
      requestsPerSecond: p.requestsPerSecond / d.requestsPerSecond,
      p50: p.p50Ms / d.p50Ms,
      p99: p.p99Ms / d.p99Ms,
    };
  });
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
  const [header1, header2] = httpHeaders(results.direct.http);
  const row = (name: string, path: PathResults): string[] => [
    name,
    ...httpCells(path.http),
    path.bulk.megabytesPerSecond.toFixed(0),
    path.bulk.ztunnelCpuSecondsPerGib.toFixed(2),
  ];
  const ratioRow = ['ratio', ...ratioCells(results.ratio.http), times(results.ratio.bulk), ''];
  return layOut(
    [
      [...header1, 'bulk', 'ztunnel CPU'],
      [...header2, 'MB/s', 's/GiB'],
      row('direct', results.direct),
      row('ztunnel', results.ztunnel),
      ratioRow,
    ],
    results.direct.http.length,
  );
}

/** The header rows of an HTTP table: a title per connection count over its three columns. */
export function httpHeaders(loads: readonly HttpLoad[]): [string[], string[]] {
  const groups = loads.map((h) => plural(h.connections, 'connection'));
  return [
    ['', ...groups.flatMap((g) => [g, '', ''])],
    ['', ...groups.flatMap(() => ['req/s', 'p50 ms', 'p99 ms'])],
  ];
}

/** An HTTP table's cells for one path: req/s, p50 and p99 per connection count. */
export function httpCells(loads: readonly HttpLoad[]): string[] {
  return loads.flatMap((h) => [h.requestsPerSecond.toFixed(0), ms(h.p50Ms), ms(h.p99Ms)]);
}

/** An HTTP table's cells for one ratio row. */
export function ratioCells(list: readonly HttpRatio[]): string[] {
  return list.flatMap((r) => [times(r.requestsPerSecond), times(r.p50), times(r.p99)]);
}

/**
 * Fixed-width columns, two spaces apart: the first left-aligned, the rest right-aligned.
 * Row 0 holds titles: those of the first `groups` groups of three columns (after the
 * first) each span their group; any columns after the groups stand alone.
 */
export function layOut(rows: readonly string[][], groups: number): string {
  const widths = rows[1]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const grouped = (c: number): boolean => c >= 1 && c <= 3 * groups;
  // A group title spans its three columns, so it is laid out over their joint width.
  const line = (cells: string[], r: number): string =>
    cells
      .map((cell, c) => {
        if (c === 0) return cell.padEnd(widths[0]!);
        if (r === 0 && grouped(c) && (c - 1) % 3 === 0) {
          const span = widths[c]! + widths[c + 1]! + widths[c + 2]! + 4;
          return cell.padStart(span);
        }
        if (r === 0 && grouped(c)) return undefined;
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
