import t from 'tap';
import { ResourceError } from './errors.js';
import { parseResources, validateResource } from './load.js';

const BOOKINFO = `# bookinfo routing
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: bookinfo
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: v1}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    trafficPolicy:
      connectionPool:
        tcp:
          connectTimeout: 0.5ms
---
apiVersion: v1
kind: Namespace
metadata:
  name: bookinfo
  labels: {istio.io/dataplane-mode: ambient}
`;

t.test('one bad document is rejected alone; the others are returned', async (t) => {
  const { resources, errors } = parseResources(BOOKINFO, 'bookinfo.yaml');
  t.same(
    resources.map((r) => `${r.type} ${r.metadata.namespace ?? '-'}/${r.metadata.name}`),
    ['VirtualService bookinfo/reviews', 'Namespace -/bookinfo'],
  );
  t.equal(errors.length, 1);
  const [err] = errors;
  t.ok(err instanceof ResourceError);
  t.equal(err?.code, 'AMBIT_INVALID_RESOURCE');
  t.equal(err?.file, 'bookinfo.yaml');
  t.equal(err?.line, 26, 'the line of connectTimeout, not of the document');
  t.equal(err?.kind, 'DestinationRule');
  t.equal(err?.namespace, 'default');
  t.equal(err?.resourceName, 'reviews');
  t.equal(err?.path, 'spec.subsets[1].trafficPolicy.connectionPool.tcp.connectTimeout');
  t.equal(err?.reason, 'must be at least 1ms');
  t.equal(
    err?.message,
    'bookinfo.yaml:26: DestinationRule default/reviews: ' +
      'spec.subsets[1].trafficPolicy.connectionPool.tcp.connectTimeout: must be at least 1ms',
  );
  t.equal(String(err), err?.message);
});

t.test('valid resources carry their type, source and a default namespace', async (t) => {
  const { resources } = parseResources(BOOKINFO, 'bookinfo.yaml');
  const [vs, ns] = resources;
  t.equal(vs?.type, 'VirtualService');
  t.same(vs?.source, { file: 'bookinfo.yaml', line: 2 });
  t.equal(ns?.type, 'Namespace');
  t.equal(ns?.metadata.namespace, undefined, 'cluster-scoped kinds have no namespace');
  t.same(ns?.metadata.labels, { 'istio.io/dataplane-mode': 'ambient' });
  const { resources: defaulted } = parseResources(
    'apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\n' +
      'spec: {servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}',
  );
  t.equal(defaulted[0]?.metadata.namespace, 'default');
  t.same(defaulted[0]?.source, { line: 1 }, 'the line alone without a file');
});

t.test('a YAML syntax error names its line and spares the other documents', async (t) => {
  const text = `apiVersion: v1
kind: Namespace
metadata: {name: a}
---
apiVersion: v1
kind: Namespace
metadata: {name: [b
---
apiVersion: v1
kind: Namespace
metadata: {name: c}
`;
  const { resources, errors } = parseResources(text, 'ns.yaml');
  t.same(
    resources.map((r) => r.metadata.name),
    ['a', 'c'],
  );
  t.equal(errors.length, 1);
  t.equal(errors[0]?.file, 'ns.yaml');
  t.equal(errors[0]?.line, 8);
  t.equal(errors[0]?.path, '');
  t.match(errors[0]?.message, /^ns\.yaml:8: invalid YAML: /);
});

t.test('an unknown kind and an unserved version are named on their field', async (t) => {
  const { errors } = parseResources(
    `apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: shop}
---
apiVersion: networking.istio.io/v2
kind: VirtualService
metadata: {name: r}
spec: {}
---
apiVersion: v1
kind: VirtualService
metadata: {name: r}
`,
    'k.yaml',
  );
  t.same(
    errors.map((e) => e.message),
    [
      'k.yaml:2: Widget shop/w: kind: unknown kind Widget in example.com/v1',
      'k.yaml:5: VirtualService r: apiVersion: version v2 of VirtualService is not served; ' +
        'use networking.istio.io/v1, networking.istio.io/v1beta1, networking.istio.io/v1alpha3',
      'k.yaml:10: VirtualService r: apiVersion: VirtualService is not in v1; use networking.istio.io/v1',
    ],
  );
});

t.test('missing apiVersion, kind or name, and an invalid name, are document errors', async (t) => {
  const { errors } = parseResources(
    `metadata: {name: x}
---
apiVersion: v1
kind: ServiceAccount
metadata: {namespace: bookinfo}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: Bookinfo_Reviews, namespace: bookinfo}
`,
    'sa.yaml',
  );
  t.same(
    errors.map((e) => e.message),
    [
      'sa.yaml:1: apiVersion: is required',
      'sa.yaml:1: kind: is required',
      'sa.yaml:5: ServiceAccount: metadata.name: is required',
      'sa.yaml:9: ServiceAccount bookinfo/Bookinfo_Reviews: metadata.name: must be a DNS-1123 subdomain',
    ],
  );
});

t.test('metadata labels follow Kubernetes label syntax', async (t) => {
  const { errors } = parseResources(
    'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    istio.io/: ambient\n',
    'ns.yaml',
  );
  t.same(
    errors.map((e) => e.message),
    ['ns.yaml:6: Namespace shop: metadata.labels["istio.io/"]: must be a valid label key'],
  );
});

t.test('an Istio Gateway name must be a DNS label', async (t) => {
  const doc = (name: string) =>
    `apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: ${name}}\n` +
    'spec: {servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]}';
  t.equal(parseResources(doc('ingress')).errors.length, 0);
  t.same(
    parseResources(doc('ingress.v1')).errors.map((e) => e.message),
    ['Gateway default/ingress.v1: metadata.name: must be a DNS-1123 label'],
  );
});

t.test('a List document yields its items, each checked alone', async (t) => {
  const { resources, errors } = parseResources(
    `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: reviews, namespace: bookinfo}
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: 7, namespace: bookinfo}
`,
    'list.yaml',
  );
  t.same(
    resources.map((r) => r.metadata.name),
    ['reviews'],
  );
  t.same(resources[0]?.source, { file: 'list.yaml', line: 4 });
  t.same(
    errors.map((e) => e.message),
    ['list.yaml:9: ServiceAccount: metadata.name: must be a string'],
  );
});

t.test('JSON input is read like YAML, with lines', async (t) => {
  const json = JSON.stringify(
    {
      apiVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      metadata: { name: 'default', namespace: 'istio-system' },
      spec: { mtls: { mode: 'STRICTER' } },
    },
    null,
    2,
  );
  const { resources, errors } = parseResources(json, 'pa.json');
  t.equal(resources.length, 0);
  t.equal(errors[0]?.line, 10);
  t.equal(errors[0]?.path, 'spec.mtls.mode');
  t.equal(errors[0]?.kind, 'PeerAuthentication');
  const ok = parseResources(json.replace('STRICTER', 'STRICT'), 'pa.json');
  t.same(ok.errors, []);
  t.equal(ok.resources[0]?.type, 'PeerAuthentication');
});

t.test('empty documents and comments are skipped', async (t) => {
  const { resources, errors } = parseResources(
    '---\n# nothing here\n---\n\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n',
  );
  t.equal(resources.length, 1);
  t.same(errors, []);
  t.same(parseResources(''), { resources: [], errors: [] });
});

t.test(
  'unknown top-level fields are rejected for mesh kinds, ignored for core kinds',
  async (t) => {
    const { errors } = parseResources(
      'apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: r}\nspecs: {}\n',
    );
    t.same(
      errors.map((e) => `${e.path}: ${e.reason}`),
      ['spec.host: is required', 'specs: unknown field'],
    );
    const sa = parseResources(
      'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: r}\nautomountServiceAccountToken: false\n',
    );
    t.same(sa.errors, []);
  },
);

t.test('objects not from text are validated with an optional source', async (t) => {
  const ok = validateResource({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name: 'bookinfo', managedFields: [{ manager: 'kubectl' }] },
  });
  t.equal(ok.resource?.type, 'Namespace');
  t.same(ok.errors, []);
  const bad = validateResource(
    { apiVersion: 'networking.istio.io/v1alpha3', kind: 'ServiceEntry', metadata: { name: 'x' } },
    { file: 'cluster', line: 1 },
  );
  t.equal(bad.resource, undefined);
  t.same(
    bad.errors.map((e) => e.message),
    ['cluster:1: ServiceEntry default/x: spec.hosts: is required'],
  );
});

t.test('no input makes the loader throw', async (t) => {
  const inputs = [
    '42',
    '"text"',
    '[1, 2]',
    '{apiVersion: 1, kind: []}',
    'apiVersion: v1\nkind: List\nitems: [null, 3]',
    'a: &x [*x]',
    '%YAML 9.9\n---\nx',
    'apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [null]}\nstatus: 5',
    'apiVersion: v1\nkind: Namespace\nmetadata: {name: a, __proto__: {x: 1}, labels: {__proto__: b}}',
  ];
  for (const text of inputs) {
    t.doesNotThrow(() => parseResources(text, 'x.yaml'), text);
    t.ok(parseResources(text, 'x.yaml').errors.length + parseResources(text).resources.length > 0);
  }
});
