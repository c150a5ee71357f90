import t from 'tap';
import { toJson } from '@bufbuild/protobuf';
import { AuthorizationSchema } from '../../api/gen/istio/security/authorization_pb.js';
import { parseResources, type PeerAuthenticationResource } from '../../api/resources/index.js';
import { convertPeerAuthentications, staticStrictAuthorization } from './peer-authentication.js';

const options = { rootNamespace: 'istio-system' };

function loadPolicies(yaml: string): PeerAuthenticationResource[] {
  const { resources, errors } = parseResources(yaml, 'peer-authentication.yaml');
  const [first] = errors;
  if (first !== undefined) throw first;
  return resources.filter((r): r is PeerAuthenticationResource => r.type === 'PeerAuthentication');
}

/** Every converted policy as proto3 JSON, the static STRICT policy first. */
function wire(yaml: string): unknown[] {
  return convertPeerAuthentications(loadPolicies(yaml), options).map((a) =>
    toJson(AuthorizationSchema, a),
  );
}

const STATIC_STRICT = {
  name: 'istio_converted_static_strict',
  namespace: 'istio-system',
  scope: 'WORKLOAD_SELECTOR',
  action: 'DENY',
  groups: [{ rules: [{ matches: [{ notPrincipals: [{ presence: {} }] }] }] }],
};

const MESH_STRICT = `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec:
  mtls: { mode: STRICT }
`;

t.test('without any PeerAuthentication nothing is published', async (t) => {
  t.strictSame(convertPeerAuthentications([], options), []);
});

t.test('STRICT is the static policy that denies peers without an identity', async (t) => {
  t.strictSame(wire(MESH_STRICT), [STATIC_STRICT]);
  t.strictSame(toJson(AuthorizationSchema, staticStrictAuthorization('mesh-root')), {
    ...STATIC_STRICT,
    namespace: 'mesh-root',
  });
});

t.test('PERMISSIVE and DISABLE add nothing but the static policy is still published', async (t) => {
  // Istio publishes the static STRICT policy whenever any PeerAuthentication exists
  // (pilot/pkg/serviceregistry/ambient/policies.go, DefaultPolicy); workloads opt in by name.
  for (const mode of ['PERMISSIVE', 'DISABLE']) {
    t.strictSame(
      wire(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: foo }
spec:
  mtls: { mode: ${mode} }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: workload, namespace: foo }
spec:
  selector: { matchLabels: { app: a } }
  mtls: { mode: ${mode} }
`),
      [STATIC_STRICT],
      mode,
    );
  }
});

t.test('a STRICT workload policy without port exceptions needs no policy of its own', async (t) => {
  t.strictSame(
    wire(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: workload, namespace: foo }
spec:
  selector: { matchLabels: { app: a } }
  mtls: { mode: STRICT }
  portLevelMtls:
    "8080": { mode: STRICT }
`),
    [STATIC_STRICT],
  );
});

t.test(
  'STRICT with a PERMISSIVE port denies unauthenticated peers except on that port',
  async (t) => {
    t.strictSame(
      wire(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: strict-but-metrics, namespace: foo }
spec:
  selector: { matchLabels: { app: a } }
  mtls: { mode: STRICT }
  portLevelMtls:
    9090: { mode: PERMISSIVE }
    8080: { mode: STRICT }
    15020: { mode: DISABLE }
`),
      [
        STATIC_STRICT,
        {
          name: 'converted_peer_authentication_strict-but-metrics',
          namespace: 'foo',
          scope: 'WORKLOAD_SELECTOR',
          action: 'DENY',
          groups: [
            {
              rules: [
                { matches: [{ notPrincipals: [{ presence: {} }] }] },
                { matches: [{ notDestinationPorts: [9090] }] },
                { matches: [{ notDestinationPorts: [15020] }] },
              ],
            },
          ],
        },
      ],
    );
  },
);

t.test(
  'PERMISSIVE or DISABLE with STRICT ports denies unauthenticated peers on those ports only',
  async (t) => {
    for (const mode of ['PERMISSIVE', 'DISABLE']) {
      t.strictSame(
        wire(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: strict-ports, namespace: foo }
spec:
  selector: { matchLabels: { app: a } }
  mtls: { mode: ${mode} }
  portLevelMtls:
    10000: { mode: STRICT }
    9090: { mode: STRICT }
    8080: { mode: PERMISSIVE }
`),
        [
          STATIC_STRICT,
          {
            name: 'converted_peer_authentication_strict-ports',
            namespace: 'foo',
            scope: 'WORKLOAD_SELECTOR',
            action: 'DENY',
            // One Group per port, in port order (not string order).
            groups: [
              {
                rules: [
                  { matches: [{ notPrincipals: [{ presence: {} }], destinationPorts: [9090] }] },
                ],
              },
              {
                rules: [
                  { matches: [{ notPrincipals: [{ presence: {} }], destinationPorts: [10000] }] },
                ],
              },
            ],
          },
        ],
        mode,
      );
    }
  },
);

t.test(
  'an UNSET workload policy inherits STRICT from its namespace and merges it with port exceptions',
  async (t) => {
    t.strictSame(
      wire(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec:
  mtls: { mode: PERMISSIVE }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: foo }
spec:
  mtls: { mode: STRICT }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: workload, namespace: foo }
spec:
  selector: { matchLabels: { app: a } }
  portLevelMtls:
    9090: { mode: PERMISSIVE }
    8080: { mode: STRICT }
`),
      [
        STATIC_STRICT,
        {
          name: 'converted_peer_authentication_workload',
          namespace: 'foo',
          scope: 'WORKLOAD_SELECTOR',
          action: 'DENY',
          // Inherited strictness comes last (Istio's order); the STRICT port is already covered.
          groups: [
            {
              rules: [
                { matches: [{ notDestinationPorts: [9090] }] },
                { matches: [{ notPrincipals: [{ presence: {} }] }] },
              ],
            },
          ],
        },
      ],
    );
  },
);

t.test('a namespace mode overrides the mesh mode; UNSET inherits it', async (t) => {
  const workload = `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: workload, namespace: foo }
spec:
  selector: { matchLabels: { app: a } }
  portLevelMtls:
    9090: { mode: STRICT }
    8080: { mode: PERMISSIVE }
`;
  const namespace = (mode: string) => `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: foo }
spec:
  mtls: { mode: ${mode} }
`;
  const strictOn9090 = {
    name: 'converted_peer_authentication_workload',
    namespace: 'foo',
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    groups: [
      { rules: [{ matches: [{ notPrincipals: [{ presence: {} }], destinationPorts: [9090] }] }] },
    ],
  };
  const strictExcept8080 = {
    ...strictOn9090,
    groups: [
      {
        rules: [
          { matches: [{ notDestinationPorts: [8080] }] },
          { matches: [{ notPrincipals: [{ presence: {} }] }] },
        ],
      },
    ],
  };
  // Mesh STRICT, namespace PERMISSIVE: the workload is permissive except port 9090.
  t.strictSame(wire([MESH_STRICT, namespace('PERMISSIVE'), workload].join('---')), [
    STATIC_STRICT,
    strictOn9090,
  ]);
  // Mesh STRICT, namespace UNSET: the workload is strict except port 8080.
  t.strictSame(wire([MESH_STRICT, namespace('UNSET'), workload].join('---')), [
    STATIC_STRICT,
    strictExcept8080,
  ]);
  // No mesh policy: nothing is strict but port 9090.
  t.strictSame(wire(workload), [STATIC_STRICT, strictOn9090]);
});

t.test('the oldest namespace-wide policy wins', async (t) => {
  const yaml = (strictCreated: string) => `
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: a-strict, namespace: foo, creationTimestamp: "${strictCreated}" }
spec:
  mtls: { mode: STRICT }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: b-permissive, namespace: foo, creationTimestamp: "2024-06-01T00:00:00Z" }
spec:
  mtls: { mode: PERMISSIVE }
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: workload, namespace: foo }
spec:
  selector: { matchLabels: { app: a } }
  portLevelMtls:
    9090: { mode: PERMISSIVE }
`;
  const converted = (yaml: string) => wire(yaml).length - 1;
  // The STRICT policy is older: port 9090 is an exception, so a converted policy exists.
  t.equal(converted(yaml('2024-01-01T00:00:00Z')), 1);
  // The PERMISSIVE policy is older: the PERMISSIVE port changes nothing.
  t.equal(converted(yaml('2024-12-01T00:00:00Z')), 0);
});

t.test('a workload-selector PeerAuthentication in the root namespace is ignored', async (t) => {
  t.strictSame(
    wire(`
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: root-selector, namespace: istio-system }
spec:
  selector: { matchLabels: { app: a } }
  mtls: { mode: PERMISSIVE }
  portLevelMtls:
    9090: { mode: STRICT }
`),
    [STATIC_STRICT],
  );
});

t.test(
  'a STRICT port under a PERMISSIVE workload is enforced even when the mesh is STRICT',
  async (t) => {
    // Istio's convertPeerAuthentication drops this port through an operator-precedence slip
    // while the workload still lists the policy; Ambit enforces what the policy says.
    t.strictSame(
      wire(
        `${MESH_STRICT}---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: workload, namespace: foo }
spec:
  selector: { matchLabels: { app: a } }
  mtls: { mode: PERMISSIVE }
  portLevelMtls:
    9090: { mode: STRICT }
`,
      ),
      [
        STATIC_STRICT,
        {
          name: 'converted_peer_authentication_workload',
          namespace: 'foo',
          scope: 'WORKLOAD_SELECTOR',
          action: 'DENY',
          groups: [
            {
              rules: [
                { matches: [{ notPrincipals: [{ presence: {} }], destinationPorts: [9090] }] },
              ],
            },
          ],
        },
      ],
    );
  },
);
