import { readFile } from 'node:fs/promises';
import { BenchmarkError } from './errors.js';

/**
 * /proc reports CPU time in USER_HZ ticks, which Linux fixes at 100 a second for user space
 * whatever the kernel's own tick rate.
 */
const MS_PER_TICK = 10;

/** The CPU time (user and system) process `pid` has used so far, in ms, 10 ms steps. */
export async function cpuMs(pid: number): Promise<number> {
  const step = `CPU time of process ${pid}`;
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch((err: unknown) => {
    throw new BenchmarkError(step, 'cannot read its /proc stat', { cause: err });
  });
  return parseCpuMs(step, text);
}

/**
 * utime and stime from a /proc/<pid>/stat line: fields 14 and 15, counted after the command
 * name, which is in parentheses and may itself hold spaces and parentheses (proc(5)).
 */
export function parseCpuMs(step: string, text: string): number {
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isInteger(utime) || !Number.isInteger(stime))
    throw new BenchmarkError(step, `no utime and stime in ${JSON.stringify(text.slice(0, 200))}`);
  return (utime + stime) * MS_PER_TICK;
}
