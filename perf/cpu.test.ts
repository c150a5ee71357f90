import t from 'tap';
import { cpuMs, parseCpuMs } from './cpu.js';

t.test('utime + stime in ms, past a command name with spaces and parentheses', async (t) => {
  const line =
    '4242 (node (a) b) S 1 4242 1 0 -1 4194560 5000 0 0 0 1234 567 0 0 20 0 11 0 9999 1000 200\n';
  t.equal(parseCpuMs('test', line), (1234 + 567) * 10);
});

t.test('a line without the fields is an error naming the step', async (t) => {
  t.throws(() => parseCpuMs('CPU time of process 7', '7 (x) S 1'), {
    code: 'AMBIT_PERF',
    message: /^CPU time of process 7: no utime and stime/,
  });
});

t.test('the count grows as this process works', async (t) => {
  const before = await cpuMs(process.pid);
  t.ok(before > 0, `${before} ms at the start`);
  // Busy work until the count moves (a tick is 10 ms of CPU; a loaded machine gives this
  // process less than the wall clock), within a deadline.
  const deadline = performance.now() + 5000;
  let after = before;
  while (after === before && performance.now() < deadline) {
    const until = performance.now() + 20;
    while (performance.now() < until);
    after = await cpuMs(process.pid);
  }
  t.ok(after > before, `${before} → ${after} ms`);
});

t.test('a process that does not exist is an error', async (t) => {
  await t.rejects(cpuMs(2 ** 22 + 1), { code: 'AMBIT_PERF' });
});
