import t from 'tap';
import { indexPath, joinPath, keyPath, parsePath } from './path.js';

t.test('paths read like field references and split back into segments', async (t) => {
  const path = keyPath(indexPath(keyPath(indexPath('spec.http', 0), 'route'), 1), 'weight');
  t.equal(path, 'spec.http[0].route[1].weight');
  t.same(parsePath(path), ['spec', 'http', 0, 'route', 1, 'weight']);
});

t.test('keys that are not identifiers are quoted, and survive the round trip', async (t) => {
  const path = keyPath('metadata.labels', 'app.kubernetes.io/name');
  t.equal(path, 'metadata.labels["app.kubernetes.io/name"]');
  t.same(parsePath(path), ['metadata', 'labels', 'app.kubernetes.io/name']);
  t.same(parsePath(keyPath('a', 'say "hi"]')), ['a', 'say "hi"]']);
});

t.test('relative paths join onto a base', async (t) => {
  t.equal(joinPath('spec', ''), 'spec');
  t.equal(joinPath('spec', 'hosts[0]'), 'spec.hosts[0]');
  t.equal(joinPath('spec.hosts', '[0]'), 'spec.hosts[0]');
  t.equal(joinPath('', 'spec'), 'spec');
});
