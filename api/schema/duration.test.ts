import t from 'tap';
import { durationMs, formatDurationMs, parseDurationMs } from './duration.js';
import type { DurationString } from './duration.js';

t.test('Go-style durations parse to milliseconds as Istio reads them', async (t) => {
  t.equal(parseDurationMs('10s'), 10_000);
  t.equal(parseDurationMs('1.5s'), 1500);
  t.equal(parseDurationMs('100ms'), 100);
  t.equal(parseDurationMs('1m'), 60_000);
  t.equal(parseDurationMs('1h30m'), 5_400_000);
  t.equal(parseDurationMs('0.001s'), 1);
  t.equal(parseDurationMs('250us'), 0.25);
  t.equal(parseDurationMs('0'), 0);
  t.equal(parseDurationMs('-2s'), -2000);
});

t.test('strings that are not durations are refused', async (t) => {
  for (const bad of ['', '10', 's', '1.s.', '10 s', '1d', '1sec', '.s', '--1s', '1e3s']) {
    t.equal(parseDurationMs(bad), undefined, bad);
  }
});

t.test('a validated duration reads back as milliseconds and formats tersely', async (t) => {
  t.equal(durationMs('2.5s' as DurationString), 2500);
  t.equal(formatDurationMs(1500), '1500ms');
  t.equal(formatDurationMs(2000), '2s');
  t.equal(formatDurationMs(120_000), '2m');
  t.equal(formatDurationMs(3_600_000), '1h');
});
