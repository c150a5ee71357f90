import t from 'tap';
import { parseResources, ResourceError } from '../../api/resources/index.js';
import { ConfigView } from './config-view.js';
import { keyOf, resourceKey } from './resource-key.js';

const { resources } = parseResources(`apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: Namespace
metadata: { name: books }`);
const [shop, books] = resources;

t.test('a replace event is the whole view; apply events change it in place', async (t) => {
  if (shop === undefined || books === undefined) throw new Error('fixture');
  const view = new ConfigView();
  t.equal(view.apply({ type: 'replace', resources: [shop] }), true);
  t.same(view.resources(), [shop]);
  t.equal(view.apply({ type: 'apply', upserts: [books], deletes: [keyOf(shop)] }), true);
  t.same(view.resources(), [books]);
  t.equal(view.get(resourceKey('Namespace', '', 'books')), books);
  t.equal(view.apply({ type: 'apply', upserts: [], deletes: [] }), false);
});

t.test('rejections are kept for reporting and never change the resources', async (t) => {
  const view = new ConfigView();
  const error = new ResourceError({ file: 'a.yaml', line: 3, path: '', reason: 'invalid YAML' });
  t.equal(view.apply({ type: 'rejections', errors: [error] }), false);
  t.same(view.rejections(), [error]);
  t.same(view.resources(), []);
});
