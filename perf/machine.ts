import { execFile } from 'node:child_process';
import os from 'node:os';
import { promisify } from 'node:util';
import { K6_BIN } from './k6.js';
import type { L4Results } from './report.js';

/** A 1-minute load average above this before the start means something else is running. */
export const BUSY_LOAD = 0.5;

/** What a benchmark's numbers depend on: CPUs, their load before the start, versions. */
export async function describeMachine(): Promise<L4Results['machine']> {
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
