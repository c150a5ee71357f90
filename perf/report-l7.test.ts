import t from 'tap';
import type { HttpLoad } from './k6.js';
import { formatCpuTable, formatL7Table, l7Ratios, type L7Results } from './report-l7.js';

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
const cpu = (z1: number, z2: number, waypoint: number) => ({
  'ztunnel-node-1': z1,
  'ztunnel-node-2': z2,
  waypoint,
});
const measured = {
  direct: {
    http: [load(1, 8000, 0.125, 0.25), load(16, 12000, 1, 6), load(64, 12000, 4, 30)],
    cpuMicrosPerRequest: cpu(0, 0, 0),
  },
  ztunnel: {
    http: [load(1, 2000, 0.5, 1), load(16, 6000, 2, 9), load(64, 6000, 8, 45)],
    cpuMicrosPerRequest: cpu(35.4, 40, 0),
  },
  waypoint: {
    http: [load(1, 800, 1.25, 2.5), load(16, 1200, 10, 30), load(64, 1200, 40, 150)],
    cpuMicrosPerRequest: cpu(36, 41, 190.2),
  },
};

t.test(
  'ratios divide each mesh path by direct, connection count by connection count',
  async (t) => {
    const r = l7Ratios(measured);
    const flat = (list: typeof r.ztunnel) =>
      list.map((h) => [h.connections, h.requestsPerSecond, h.p50, h.p99]);
    t.same(flat(r.ztunnel), [
      [1, 0.25, 4, 4],
      [16, 0.5, 2, 1.5],
      [64, 0.5, 2, 1.5],
    ]);
    t.same(flat(r.waypoint), [
      [1, 0.1, 10, 10],
      [16, 0.1, 10, 5],
      [64, 0.1, 10, 5],
    ]);
  },
);

t.test('the table has rows per path and per ratio, columns aligned', async (t) => {
  const results = { ...measured, ratio: l7Ratios(measured) } as L7Results;
  const lines = formatL7Table(results).split('\n');
  t.equal(lines.length, 7);
  t.match(lines[0], /1 connection .* 16 connections .* 64 connections$/);
  t.match(lines[1], /req\/s {2}p50 ms {2}p99 ms/);
  t.match(lines[2], /^direct {2,}8000 {2,}0\.13 {2,}0\.25 .* 30\.0$/);
  t.match(lines[3], /^ztunnel {2,}2000 .* 45\.0$/);
  t.match(lines[4], /^waypoint {2,}800 .* 150\.0$/);
  t.match(lines[5], /^ztunnel\/direct {2,}0\.25x {2,}4\.00x {2,}4\.00x .* 1\.50x$/);
  t.match(lines[6], /^waypoint\/direct {2,}0\.10x {2,}10\.00x {2,}10\.00x .* 5\.00x$/);
  // Every row, titles included, ends in the same column.
  t.equal(new Set(lines.map((l) => l.length)).size, 1);
});

t.test('the CPU table has a column per mesh process and their total, a row per path', async (t) => {
  const results = { ...measured, ratio: l7Ratios(measured) } as L7Results;
  const lines = formatCpuTable(results).split('\n');
  t.equal(lines.length, 4);
  t.match(lines[0], /^ {8,}ztunnel-node-1 {2}ztunnel-node-2 {2}waypoint {2}total$/);
  t.match(lines[1], /^direct {2,}0 {2,}0 {2,}0 {2,}0$/);
  t.match(lines[2], /^ztunnel {2,}35 {2,}40 {2,}0 {2,}75$/);
  t.match(lines[3], /^waypoint {2,}36 {2,}41 {2,}190 {2,}267$/);
  t.equal(new Set(lines.map((l) => l.length)).size, 1);
});
