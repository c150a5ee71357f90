import type { HttpLoad } from './k6.js';
import {
  httpCells,
  httpHeaders,
  httpRatios,
  layOut,
  ratioCells,
  type HttpRatio,
  type L4Results,
} from './report.js';

/** The three ways from the client pod to the server pod the L7 benchmark measures. */
export const L7_PATHS = ['direct', 'ztunnel', 'waypoint'] as const;
export type L7PathName = (typeof L7_PATHS)[number];

/** The mesh's processes whose CPU time the benchmark counts. */
export const MESH_PROCESSES = ['ztunnel-node-1', 'ztunnel-node-2', 'waypoint'] as const;
export type MeshProcess = (typeof MESH_PROCESSES)[number];

export interface L7PathResults {
  /** One entry per connection count, in CONNECTIONS order. */
  http: HttpLoad[];
  /**
   * CPU time (user and system) each mesh process used per request over the measured loads
   * (warm-up excluded), in µs: unlike req/s, barely moved by what else the machine runs.
   */
  cpuMicrosPerRequest: Record<MeshProcess, number>;
}

export interface L7Results {
  benchmark: 'l7';
  /** ISO 8601, when the run finished. */
  date: string;
  machine: L4Results['machine'] & {
    /** 1-minute load average after the last load: the share of the CPUs others took. */
    loadAverageAtEnd: number;
  };
  settings: {
    durationSeconds: number;
    warmupSeconds: number;
    /** The node whose pod network the waypoint's pod is on. */
    waypointNode: string;
  };
  direct: L7PathResults;
  ztunnel: L7PathResults;
  waypoint: L7PathResults;
  /** Each mesh path divided by direct: below 1 is slower for req/s, above 1 for latency. */
  ratio: { ztunnel: HttpRatio[]; waypoint: HttpRatio[] };
}

export function l7Ratios(measured: Pick<L7Results, L7PathName>): L7Results['ratio'] {
  return {
    ztunnel: httpRatios(measured.direct.http, measured.ztunnel.http),
    waypoint: httpRatios(measured.direct.http, measured.waypoint.http),
  };
}

/** Rows direct, ztunnel, waypoint, then ztunnel/direct and waypoint/direct. */
export function formatL7Table(results: L7Results): string {
  const [header1, header2] = httpHeaders(results.direct.http);
  return layOut(
    [
      header1,
      header2,
      ...L7_PATHS.map((name) => [name, ...httpCells(results[name].http)]),
      ['ztunnel/direct', ...ratioCells(results.ratio.ztunnel)],
      ['waypoint/direct', ...ratioCells(results.ratio.waypoint)],
    ],
    results.direct.http.length,
  );
}

/** Rows per path: each mesh process's CPU µs per request, and their total. */
export function formatCpuTable(results: L7Results): string {
  const micros = (n: number): string => n.toFixed(0);
  return layOut(
    [
      ['', ...MESH_PROCESSES, 'total'],
      ...L7_PATHS.map((name) => {
        const cpu = results[name].cpuMicrosPerRequest;
        const all = MESH_PROCESSES.reduce((sum, p) => sum + cpu[p], 0);
        return [name, ...MESH_PROCESSES.map((p) => micros(cpu[p])), micros(all)];
      }),
    ],
    0,
  );
}
