import t from 'tap';
import type { HttpLoad } from './k6.js';
import {
  formatTable,
  formatTargets,
  ratios,
  targets,
  type L4Results,
  type PathResults,
} from './report.js';

const load = (
  connections: number,
  requestsPerSecond: number,
  p50Ms: number,
  p99Ms: number,
): HttpLoad => ({
  connections,
  requestsPerSecond,
  p50Ms,
  p99Ms,
  requests: requestsPerSecond * 10,
  failed: 0,
});
const bulk = (megabytesPerSecond: number, ztunnelCpuSecondsPerGib: number) => ({
  bytes: 2 ** 31,
  seconds: 2 ** 31 / 1e6 / megabytesPerSecond,
  megabytesPerSecond,
  ztunnelCpuSecondsPerGib,
});
const direct: PathResults = {
  http: [load(1, 9000, 0.125, 0.25), load(16, 12000, 1, 6), load(64, 12000, 4, 30)],
  bulk: bulk(2800, 0),
};
const ztunnel: PathResults = {
  http: [load(1, 2700, 0.375, 1.25), load(16, 6000, 2, 9), load(64, 6000, 8, 45)],
  bulk: bulk(700, 2.5),
};

t.test('ratios divide ztunnel by direct, connection count by connection count', async (t) => {
  const r = ratios(direct, ztunnel);
  t.same(
    r.http.map((h) => [h.connections, h.requestsPerSecond, h.p50, h.p99]),
    [
      [1, 0.3, 3, 5],
      [16, 0.5, 2, 1.5],
      [64, 0.5, 2, 1.5],
    ],
  );
  t.equal(r.bulk, 0.25);
});

t.test(
  'targets: a third of direct req/s at each connection count, and 640 MB/s bulk',
  async (t) => {
    const list = targets(ztunnel, ratios(direct, ztunnel));
    t.same(
      list.map((x) => x.met),
      [false, true, true, true],
    );
    t.match(
      formatTargets(list),
      /^NOT met {2}ztunnel\/direct req\/s at 1 connection: 0\.30 \(target >= 0\.33\)$/m,
    );
    t.match(formatTargets(list), /^met {6}ztunnel bulk MB\/s: 700 \(target >= 640\)$/m);
  },
);

t.test('the table has a header, direct, ztunnel and ratio rows, columns aligned', async (t) => {
  const results = { direct, ztunnel, ratio: ratios(direct, ztunnel) } as L4Results;
  const lines = formatTable(results).split('\n');
  t.equal(lines.length, 5);
  t.match(lines[0], /1 connection .* 16 connections .* 64 connections .* bulk {2}ztunnel CPU$/);
  t.match(lines[1], /req\/s {2}p50 ms {2}p99 ms .* MB\/s {2,}s\/GiB$/);
  t.match(lines[2], /^direct {2,}9000 .* 2800 {2,}0\.00$/);
  t.match(lines[3], /^ztunnel {2,}2700 .* 700 {2,}2\.50$/);
  // The CPU column has no ratio: direct spends no ztunnel CPU.
  t.match(lines[4], /^ratio {2,}0\.30x {2,}3\.00x {2,}5\.00x .* 0\.25x {2,}$/);
  // Every row ends in the same column, so the numbers line up under their headers.
  t.equal(new Set(lines.slice(1).map((l) => l.length)).size, 1);
});
