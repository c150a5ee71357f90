import t from 'tap';
import { create } from '@bufbuild/protobuf';
import { AuthorizationSchema } from '../../api/gen/istio/security/authorization_pb.js';
import {
  parseResources,
  type AuthorizationPolicyResource,
  type PeerAuthenticationResource,
} from '../../api/resources/index.js';
import { authorizationResourceName, policiesForWorkload } from './authorization-binding.js';

const options = { rootNamespace: 'istio-system' };
const reviews = { namespace: 'foo', labels: { app: 'reviews', version: 'v1' } };

function load(yaml: string): {
  authorizationPolicies: AuthorizationPolicyResource[];
  peerAuthentications: PeerAuthenticationResource[];
} {
  const { resources, errors } = parseResources(yaml, 'policies.yaml');
  const [first] = errors;
  if (first !== undefined) throw first;
  return {
    authorizationPolicies: resources.filter(
      (r): r is AuthorizationPolicyResource => r.type === 'AuthorizationPolicy',
    ),
    peerAuthentications: resources.filter(
      (r): r is PeerAuthenticationResource => r.type === 'PeerAuthentication',
    ),
  };
}

type Workload = { namespace: string; labels: Record<string, string> };

/** The policy names `workload` lists, given YAML documents that `docs` joins with `---`. */
function policiesFor(workload: Workload, ...docs: string[]): string[] {
  const { authorizationPolicies, peerAuthentications } = load(docs.join('---'));
  return policiesForWorkload(workload, authorizationPolicies, peerAuthentications, options);
}

const authz = (namespace: string, name: string, extra = '') => `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  ${extra}
  rules:
  - from:
    - source: { namespaces: [foo] }
`;

const peerAuthn = (namespace: string, name: string, spec: string) => `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: ${name}, namespace: ${namespace} }
spec:
  ${spec}
`;

t.test('the wire name of a policy is namespace/name', async (t) => {
  t.equal(
    authorizationResourceName(create(AuthorizationSchema, { name: 'allow', namespace: 'foo' })),
    'foo/allow',
  );
});

t.test(
  'a workload lists the selector policies of its namespace and the root namespace that select it, sorted',
  async (t) => {
    t.strictSame(
      policiesFor(
        reviews,
        authz('foo', 'zeta', 'selector: { matchLabels: { app: reviews } }'),
        authz('foo', 'alpha', 'selector: { matchLabels: { app: reviews, version: v1 } }'),
        authz('istio-system', 'mesh-reviews', 'selector: { matchLabels: { app: reviews } }'),
      ),
      ['foo/alpha', 'foo/zeta', 'istio-system/mesh-reviews'],
    );
  },
);

t.test('namespace and global policies are applied by scope, not listed', async (t) => {
  t.strictSame(policiesFor(reviews, authz('foo', 'ns-wide'), authz('istio-system', 'global')), []);
});

t.test('policies that do not select the workload are not listed', async (t) => {
  t.strictSame(
    policiesFor(
      reviews,
      authz('foo', 'other-app', 'selector: { matchLabels: { app: ratings } }'),
      authz('foo', 'other-version', 'selector: { matchLabels: { app: reviews, version: v2 } }'),
      authz('bar', 'other-namespace', 'selector: { matchLabels: { app: reviews } }'),
    ),
    [],
  );
});

t.test('policies the node tunnel does not receive are not listed', async (t) => {
  t.strictSame(
    policiesFor(
      reviews,
      authz('foo', 'audit', 'selector: { matchLabels: { app: reviews } }\n  action: AUDIT'),
      authz('foo', 'waypoint', 'targetRefs: [{ kind: Service, group: "", name: reviews }]'),
    ),
    [],
  );
});

t.test(
  'a workload under an effective STRICT mode lists the static STRICT policy after its own policies',
  async (t) => {
    // Istio appends the PeerAuthentication names after the sorted AuthorizationPolicy names
    // (pilot/pkg/serviceregistry/ambient/workloads.go, buildWorkloadPolicies).
    t.strictSame(
      policiesFor(
        reviews,
        authz('foo', 'selected', 'selector: { matchLabels: { app: reviews } }'),
        peerAuthn('istio-system', 'default', 'mtls: { mode: STRICT }'),
      ),
      ['foo/selected', 'istio-system/istio_converted_static_strict'],
    );
  },
);

t.test('the workload policy overrides the namespace, which overrides the mesh', async (t) => {
  const mesh = peerAuthn('istio-system', 'default', 'mtls: { mode: STRICT }');
  const namespace = (mode: string) => peerAuthn('foo', 'default', `mtls: { mode: ${mode} }`);
  const workload = (mode: string) =>
    peerAuthn(
      'foo',
      'reviews',
      `selector: { matchLabels: { app: reviews } }\n  mtls: { mode: ${mode} }`,
    );
  const strict = ['istio-system/istio_converted_static_strict'];
  t.strictSame(policiesFor(reviews, mesh), strict, 'mesh STRICT');
  t.strictSame(policiesFor(reviews, mesh, namespace('PERMISSIVE')), [], 'namespace PERMISSIVE');
  t.strictSame(policiesFor(reviews, mesh, namespace('UNSET')), strict, 'namespace UNSET inherits');
  t.strictSame(
    policiesFor(reviews, namespace('PERMISSIVE'), workload('STRICT')),
    strict,
    'workload STRICT',
  );
  t.strictSame(policiesFor(reviews, mesh, workload('DISABLE')), [], 'workload DISABLE');
  t.strictSame(policiesFor(reviews, mesh, workload('UNSET')), strict, 'workload UNSET inherits');
  t.strictSame(
    policiesFor(
      { namespace: 'foo', labels: { app: 'ratings' } },
      mesh,
      namespace('PERMISSIVE'),
      workload('STRICT'),
    ),
    [],
    'a workload the selector misses keeps the namespace mode',
  );
});

t.test(
  'a workload with port-level exceptions lists its converted policy instead of the static one',
  async (t) => {
    const mesh = peerAuthn('istio-system', 'default', 'mtls: { mode: STRICT }');
    const ports = peerAuthn(
      'foo',
      'reviews',
      'selector: { matchLabels: { app: reviews } }\n  portLevelMtls: { "9090": { mode: PERMISSIVE } }',
    );
    t.strictSame(policiesFor(reviews, mesh, ports), ['foo/converted_peer_authentication_reviews']);
    // Under a PERMISSIVE mesh the PERMISSIVE port changes nothing: no policy at all.
    t.strictSame(
      policiesFor(
        reviews,
        peerAuthn('istio-system', 'default', 'mtls: { mode: PERMISSIVE }'),
        ports,
      ),
      [],
    );
  },
);

t.test('a STRICT port under a permissive workload lists the converted policy', async (t) => {
  t.strictSame(
    policiesFor(
      reviews,
      peerAuthn(
        'foo',
        'reviews',
        'selector: { matchLabels: { app: reviews } }\n  mtls: { mode: PERMISSIVE }\n  portLevelMtls: { "8080": { mode: STRICT } }',
      ),
    ),
    ['foo/converted_peer_authentication_reviews'],
  );
});

t.test('the oldest workload policy selecting a workload is the one that counts', async (t) => {
  const yaml = (created: string) =>
    peerAuthn('istio-system', 'default', 'mtls: { mode: STRICT }') +
    `---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: old-permissive, namespace: foo, creationTimestamp: "${created}" }
spec:
  selector: { matchLabels: { app: reviews } }
  mtls: { mode: PERMISSIVE }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: new-strict, namespace: foo, creationTimestamp: "2024-06-01T00:00:00Z" }
spec:
  selector: { matchLabels: { version: v1 } }
  mtls: { mode: STRICT }
`;
  t.strictSame(policiesFor(reviews, yaml('2024-01-01T00:00:00Z')), []);
  t.strictSame(policiesFor(reviews, yaml('2024-12-01T00:00:00Z')), [
    'istio-system/istio_converted_static_strict',
  ]);
});

t.test(
  'root-namespace selector PeerAuthentications select nothing, in any namespace',
  async (t) => {
    const rootSelector = peerAuthn(
      'istio-system',
      'root-selector',
      'selector: { matchLabels: { app: reviews } }\n  mtls: { mode: STRICT }',
    );
    t.strictSame(policiesFor(reviews, rootSelector), []);
    t.strictSame(
      policiesFor({ namespace: 'istio-system', labels: { app: 'reviews' } }, rootSelector),
      [],
    );
  },
);

t.test('a workload in the root namespace follows the mesh policy', async (t) => {
  t.strictSame(
    policiesFor(
      { namespace: 'istio-system', labels: { app: 'gateway' } },
      peerAuthn('istio-system', 'default', 'mtls: { mode: STRICT }'),
    ),
    ['istio-system/istio_converted_static_strict'],
  );
});

t.test('a selector without labels selects every workload in reach', async (t) => {
  // Istio warns about such a selector; Kubernetes' rule (an empty selector selects all) applies.
  t.strictSame(
    policiesFor(
      reviews,
      authz('foo', 'empty-selector', 'selector: {}'),
      authz('bar', 'elsewhere', 'selector: {}'),
    ),
    ['foo/empty-selector'],
  );
});
