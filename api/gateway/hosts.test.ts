import t from 'tap';
import { hostMatches, mostSpecificMatch } from './hosts.js';

t.test('a host pattern matches exact names, *.suffix subdomains, and * anything', async (t) => {
  t.ok(hostMatches('httpbin.example.com', 'httpbin.example.com'));
  t.notOk(hostMatches('httpbin.example.com', 'other.example.com'));
  t.ok(hostMatches('*.example.com', 'a.b.example.com'));
  t.notOk(hostMatches('*.example.com', 'example.com'), 'the wildcard needs a label');
  t.ok(hostMatches('*', 'anything'));
});

t.test('the most specific pattern wins: exact, then the longest wildcard, then *', async (t) => {
  const patterns = ['*', '*.example.com', 'httpbin.example.com', '*.b.example.com'];
  t.equal(mostSpecificMatch(patterns, 'httpbin.example.com'), 2);
  t.equal(mostSpecificMatch(patterns, 'a.b.example.com'), 3);
  t.equal(mostSpecificMatch(patterns, 'x.example.com'), 1);
  t.equal(mostSpecificMatch(patterns, 'other.org'), 0);
  t.equal(mostSpecificMatch(['a.example.com'], 'b.example.com'), -1);
});
