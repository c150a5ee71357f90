import t from 'tap';
import { s, validate } from './index.js';
import {
  dns1123Label,
  dns1123Subdomain,
  duration,
  isCIDR,
  isDns1123Label,
  isDns1123Subdomain,
  isIPAddress,
  isLabelKey,
  isLabelValue,
  regex,
} from './validators.js';
import { compileRe2, regexProblem } from './regex.js';

t.test('DNS-1123 labels are lowercase alphanumerics and dashes, at most 63', async (t) => {
  t.ok(isDns1123Label('reviews-v1'));
  t.notOk(isDns1123Label('Reviews'));
  t.notOk(isDns1123Label('-a'));
  t.notOk(isDns1123Label('a'.repeat(64)));
  t.same(validate(s.string().check(dns1123Label), 'v_1'), [
    { path: '', reason: 'must be a DNS-1123 label' },
  ]);
});

t.test('DNS-1123 subdomains are dotted labels, at most 253', async (t) => {
  t.ok(isDns1123Subdomain('reviews.default.svc'));
  t.notOk(isDns1123Subdomain('reviews..svc'));
  t.same(validate(s.string().check(dns1123Subdomain), 'a_b'), [
    { path: '', reason: 'must be a DNS-1123 subdomain' },
  ]);
});

t.test('regexes compile as RE2 would, and are at most 1024 characters', async (t) => {
  t.equal(regexProblem('^/v[0-9]+/(?P<rest>.*)$'), undefined);
  t.equal(regexProblem('(?i)^/API'), undefined);
  t.ok(compileRe2('(?i)^/API').test('/api'));
  t.equal(
    regexProblem('(?<!x)y'),
    'must be a valid RE2 regular expression: look-around assertions are not supported by RE2',
  );
  t.equal(
    regexProblem('(a)\\1'),
    'must be a valid RE2 regular expression: back-references are not supported by RE2',
  );
  t.match(regexProblem('[unclosed'), /^must be a valid regular expression: /);
  t.equal(regexProblem('x'.repeat(1025)), 'must be at most 1024 characters');
  t.same(validate(s.string().check(regex), '('), [{ path: '', reason: regexProblem('(') ?? '' }]);
});

t.test('durations in plain strings are at least 1 ms, in whole milliseconds', async (t) => {
  const d = s.string().check(duration);
  t.same(validate(d, '5s'), []);
  t.same(validate(d, '0s'), [{ path: '', reason: 'must be at least 1ms' }]);
  t.same(validate(d, '1500us'), [{ path: '', reason: 'must be a whole number of milliseconds' }]);
  t.same(validate(s.duration({ minimumMs: 0 }), '0s'), []);
});

t.test('label keys and values follow Kubernetes label syntax', async (t) => {
  t.ok(isLabelKey('app'));
  t.ok(isLabelKey('app.kubernetes.io/name'));
  t.notOk(isLabelKey('app/'));
  t.notOk(isLabelKey('-app'));
  t.ok(isLabelValue(''));
  t.notOk(isLabelValue('a b'));
});

t.test('IP addresses and CIDR blocks', async (t) => {
  t.ok(isIPAddress('10.0.0.1'));
  t.ok(isIPAddress('2001:db8::1'));
  t.notOk(isIPAddress('10.0.0.256'));
  t.ok(isCIDR('10.0.0.0/8'));
  t.ok(isCIDR('2001:db8::/32'));
  t.notOk(isCIDR('10.0.0.0/33'));
  t.notOk(isCIDR('10.0.0.0'));
});
