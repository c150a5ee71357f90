import t from 'tap';
import { fullMatcher, globalMatcher } from './regex.js';

t.test('a config regex is compiled once per config object', async (t) => {
  const match = { regex: '/v[0-9]+' };
  t.equal(fullMatcher(match, match.regex), fullMatcher(match, match.regex));
  t.not(fullMatcher(match, match.regex), fullMatcher({ regex: '/v[0-9]+' }, '/v[0-9]+'));
});

t.test('a catastrophic pattern answers quickly, as RE2 would', async (t) => {
  // A backtracking engine needs minutes for these; V8's linear engine takes over.
  const input = `/${'a'.repeat(40)}b`;
  const started = process.hrtime.bigint();
  t.equal(fullMatcher({}, '/(a+)+')?.test(input), false);
  t.equal(input.replace(globalMatcher({}, '(a+)+$') ?? /$^/, 'x'), input);
  t.equal(input.replace(globalMatcher({}, '(a|aa)+b') ?? /$^/, 'x'), '/x');
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  t.ok(ms < 1000, `took ${ms.toFixed(1)} ms`);
});

t.test('patterns the linear engine declines still work', async (t) => {
  t.ok(fullMatcher({}, '(?i)/api')?.test('/API'));
  t.ok(fullMatcher({}, '[a-z]{1,64}')?.test('reviews'));
});

t.test('a pattern that does not compile gives no matcher', async (t) => {
  t.equal(fullMatcher({}, '('), undefined);
  t.equal(globalMatcher({}, '[z-a]'), undefined);
});
