import t from 'tap';
import { Backoff } from './backoff.js';

t.test('reconnect delays double from the initial delay up to the cap', async (t) => {
  const backoff = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
  t.strictSame(
    Array.from({ length: 6 }, () => backoff.next()),
    [100, 200, 400, 800, 1000, 1000],
  );
});

t.test('each delay is jittered within the upper half of its step', async (t) => {
  const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  t.strictSame([low.next(), low.next(), low.next()], [50, 100, 200]);
  const real = new Backoff({ initialMs: 100, maxMs: 1000 });
  for (let i = 0; i < 20; i++) {
    const step = Math.min(1000, 100 * 2 ** i);
    const delay = real.next();
    t.ok(
      delay >= step / 2 && delay <= step,
      `attempt ${i}: ${delay} within [${step / 2}, ${step}]`,
    );
  }
});

t.test('a healthy connection resets the delay to the initial one', async (t) => {
  const backoff = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
  backoff.next();
  backoff.next();
  backoff.reset();
  t.equal(backoff.next(), 100);
});

t.test('many failures never overflow the cap', async (t) => {
  const backoff = new Backoff({ initialMs: 100, maxMs: 5000, random: () => 1 });
  let last = 0;
  for (let i = 0; i < 2000; i++) last = backoff.next();
  t.equal(last, 5000);
});
