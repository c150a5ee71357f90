import t from 'tap';
import { applyHeaderOperations } from './headers.js';

type Headers = Record<string, string | string[] | undefined>;

t.test('set replaces every value of a header', async (t) => {
  const headers: Headers = { 'x-version': ['v1', 'v0'] };
  applyHeaderOperations(headers, { set: { 'x-version': 'v2' } });
  t.strictSame(headers, { 'x-version': 'v2' });
});

t.test('add appends a value, making the header multi-valued', async (t) => {
  const headers: Headers = { via: 'a' };
  applyHeaderOperations(headers, { add: { via: 'b', 'x-new': 'c' } });
  applyHeaderOperations(headers, { add: { via: 'd' } });
  t.strictSame(headers, { via: ['a', 'b', 'd'], 'x-new': 'c' });
});

t.test('remove deletes every value of a header', async (t) => {
  const headers: Headers = { cookie: ['a=1', 'b=2'], keep: 'x' };
  applyHeaderOperations(headers, { remove: ['cookie', 'missing'] });
  t.strictSame(headers, { keep: 'x' });
});

t.test('remove runs before set and add, as Envoy evaluates them', async (t) => {
  // header_parser.cc: "Removing headers ... first makes remove-before-add the default".
  const headers: Headers = { 'x-a': 'old', 'x-b': 'old' };
  applyHeaderOperations(headers, {
    remove: ['x-a', 'x-b'],
    set: { 'x-a': 'new' },
    add: { 'x-b': 'new' },
  });
  t.strictSame(headers, { 'x-a': 'new', 'x-b': 'new' });
});

t.test('set runs before add, so both values of one header survive (Istio order)', async (t) => {
  const headers: Headers = { 'x-a': 'old' };
  applyHeaderOperations(headers, { set: { 'x-a': 'set' }, add: { 'x-a': 'added' } });
  t.strictSame(headers, { 'x-a': ['set', 'added'] });
});

t.test('operation names are case-insensitive and stored lower-case', async (t) => {
  const headers: Headers = { 'x-a': 'old', 'x-b': 'gone' };
  applyHeaderOperations(headers, { set: { 'X-A': 'new' }, add: { 'X-C': 'c' }, remove: ['X-B'] });
  t.strictSame(headers, { 'x-a': 'new', 'x-c': 'c' });
});

t.test('an empty value is not written (Envoy without keep_empty_value)', async (t) => {
  const headers: Headers = { 'x-a': 'old' };
  applyHeaderOperations(headers, { set: { 'x-a': '' }, add: { 'x-b': '' } });
  t.strictSame(headers, { 'x-a': 'old' });
});

t.test('no operations change nothing', async (t) => {
  const headers: Headers = { a: '1' };
  applyHeaderOperations(headers, undefined);
  t.strictSame(headers, { a: '1' });
});
