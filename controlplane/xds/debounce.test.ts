import t from 'tap';
import { waitFor } from '../../core/xds/testing/wait.js';
import { Debouncer } from './debounce.js';

// The negative checks below (no second flush, no flush after cancel) can only be shown by
// letting several debounce periods pass; those waits are the behaviour under test.
const periods = (n: number, delayMs: number) =>
  new Promise((resolve) => setTimeout(resolve, n * delayMs));

t.test('a burst of triggers makes one flush', async (t) => {
  const flushes: number[] = [];
  const debouncer = new Debouncer({
    delayMs: 20,
    maxDelayMs: 1000,
    flush: (at) => flushes.push(at),
  });
  t.teardown(() => debouncer.cancel());
  const start = performance.now();
  for (let i = 0; i < 50; i++) debouncer.trigger();
  await waitFor('a flush', () => flushes.length === 1);
  await periods(3, 20);
  t.equal(flushes.length, 1);
  t.ok((flushes[0] ?? 0) >= start, 'the flush carries the time of the first trigger');
});

t.test('a steady trickle of triggers still flushes by the maximum delay', async (t) => {
  const flushes: number[] = [];
  const debouncer = new Debouncer({
    delayMs: 50,
    maxDelayMs: 100,
    flush: (at) => flushes.push(at),
  });
  const trickle = setInterval(() => debouncer.trigger(), 10);
  t.teardown(() => {
    clearInterval(trickle);
    debouncer.cancel();
  });
  debouncer.trigger();
  const start = performance.now();
  await waitFor('a flush while triggers keep coming', () => flushes.length >= 1, 1000);
  t.ok(performance.now() - start < 1000);
});

t.test('a cancelled debouncer does not flush', async (t) => {
  const flushes: number[] = [];
  const debouncer = new Debouncer({ delayMs: 5, maxDelayMs: 5, flush: (at) => flushes.push(at) });
  debouncer.trigger();
  debouncer.cancel();
  await periods(6, 5);
  t.equal(flushes.length, 0);
});
