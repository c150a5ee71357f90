import t from 'tap';
import { normalizePath } from './normalize-path.js';

const path = (received: string, mode?: Parameters<typeof normalizePath>[1]) => {
  const result = normalizePath(received, mode);
  return result.ok ? result.path : `error: ${result.reason}`;
};

t.test('every trick for reaching /admin normalizes to /admin by default', async (t) => {
  for (const trick of [
    '/admin',
    '//admin',
    '///admin',
    '/%2Fadmin',
    '/%2fadmin',
    '/%5Cadmin',
    '/%5cadmin',
    '/./admin',
    '/foo/../admin',
    '/foo/%2E%2E/admin',
    '/foo%2F..%2Fadmin',
    '/../admin',
    '/../../admin',
    '/%61dmin',
    '/admin?q=1',
    '/admin#fragment',
    '/foo//../admin',
  ]) {
    t.equal(path(trick), '/admin', trick);
  }
});

t.test('case is significant and a trailing slash is kept', async (t) => {
  t.equal(path('/ADMIN'), '/ADMIN');
  t.equal(path('/admin/'), '/admin/');
  t.equal(path('/admin/.'), '/admin/');
  t.equal(path('/admin/x/..'), '/admin/');
});

t.test('the query is kept as sent, the fragment dropped', async (t) => {
  const result = normalizePath('//a/./b?x=%2F&y=1#f');
  t.same(result, { ok: true, full: '/a/b?x=%2F&y=1', path: '/a/b' });
});

t.test('escapes that are not unreserved or slashes stay encoded, upper-cased', async (t) => {
  t.equal(path('/a%20b%3f'), '/a%20b%3F');
});

t.test('bad percent-encoding and relative paths are refused', async (t) => {
  t.match(path('/a%zz'), /^error: bad percent-encoding/);
  t.match(path('/a%2'), /^error: bad percent-encoding/);
  t.match(path('admin'), /^error: the path does not start with/);
  t.match(path('*'), /^error:/);
});

t.test('the other Istio modes do what their names say', async (t) => {
  t.equal(path('//a/%2Fb/../c', 'NONE'), '//a/%2Fb/../c');
  t.equal(path('//a/./b/../c', 'BASE'), '//a/c');
  t.equal(path('/a/%2Fb', 'BASE'), '/a/%2Fb');
  t.equal(path('//a//b', 'MERGE_SLASHES'), '/a/b');
  t.equal(path('/a/%2Fb', 'MERGE_SLASHES'), '/a/%2Fb');
  t.equal(path('/a/%2Fb', 'DECODE_AND_MERGE_SLASHES'), '/a/b');
});
