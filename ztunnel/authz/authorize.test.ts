import { create, fromJson, type JsonValue, type MessageInitShape } from '@bufbuild/protobuf';
import t from 'tap';
import {
  Action,
  AuthorizationSchema,
  Scope,
  type Authorization as AuthorizationMessage,
} from '../../api/gen/istio/security/authorization_pb.js';
import { AUTHORIZATION_TYPE_URL, packResource } from '../../api/xds/type-urls.js';
import { parseIdentity } from '../../core/identity/spiffe.js';
import { ipBytes } from '../state/testing/deltas.js';
import { authorize, type ConnectionAttributes } from './authorize.js';
import { decodeAuthorization } from './decode.js';
import type { Authorization } from './policy.js';

// The plain-object branch of the init shape (not an already built message).
type Init = Exclude<MessageInitShape<typeof AuthorizationSchema>, AuthorizationMessage>;
type MatchInit = NonNullable<
  NonNullable<NonNullable<NonNullable<Init['groups']>[number]['rules']>[number]['matches']>
>[number];

/** A policy as it comes off the wire: encoded, packed, decoded. */
function policy(name: string, action: Action, matches: MatchInit[], extra: Partial<Init> = {}) {
  const message = create(AuthorizationSchema, {
    name,
    namespace: 'default',
    scope: Scope.NAMESPACE,
    action,
    groups: [{ rules: [{ matches }] }],
    ...extra,
  });
  return decodeAuthorization(`default/${name}`, packResource(AUTHORIZATION_TYPE_URL, message));
}

const exact = (value: string) => ({ matchType: { case: 'exact' as const, value } });
const prefix = (value: string) => ({ matchType: { case: 'prefix' as const, value } });
const suffix = (value: string) => ({ matchType: { case: 'suffix' as const, value } });
const presence = () => ({ matchType: { case: 'presence' as const, value: {} } });
const cidr = (address: string, length: number) => ({ address: ipBytes(address), length });

const SLEEP = 'cluster.local/ns/foo/sa/sleep';

function mtls(
  identity: string,
  sourceIp = '10.1.0.10',
  destinationPort = 9080,
): ConnectionAttributes {
  return {
    sourceIdentity: parseIdentity(`spiffe://${identity}`),
    sourceIp,
    destinationIp: '10.1.0.5',
    destinationPort,
  };
}

function plaintext(sourceIp = '10.1.0.11', destinationPort = 9080): ConnectionAttributes {
  return { sourceIp, destinationIp: '10.1.0.5', destinationPort };
}

const fromSleep = mtls(SLEEP);
const fromBar = mtls('cluster.local/ns/bar/sa/default', '10.2.0.10');

const allowSleep = policy('allow-sleep', Action.ALLOW, [{ principals: [exact(SLEEP)] }]);
const denyBar = policy('deny-bar', Action.DENY, [{ namespaces: [exact('bar')] }]);
const allowBar = policy('allow-bar', Action.ALLOW, [{ namespaces: [exact('bar')] }]);

const cases: {
  name: string;
  connection: ConnectionAttributes;
  policies: Authorization[];
  allowed: boolean;
  policy?: string;
}[] = [
  { name: 'no policies allow', connection: plaintext(), policies: [], allowed: true },
  {
    name: 'an ALLOW by principal allows that peer',
    connection: fromSleep,
    policies: [allowSleep],
    allowed: true,
    policy: 'default/allow-sleep',
  },
  {
    name: 'ALLOW policies present but none matching deny',
    connection: fromBar,
    policies: [allowSleep],
    allowed: false,
  },
  {
    name: 'a matching DENY wins over a matching ALLOW',
    connection: fromBar,
    policies: [allowBar, denyBar],
    allowed: false,
    policy: 'default/deny-bar',
  },
  {
    name: 'a DENY that does not match leaves the decision to ALLOW policies',
    connection: fromSleep,
    policies: [denyBar, allowSleep],
    allowed: true,
    policy: 'default/allow-sleep',
  },
  {
    name: 'only DENY policies, none matching: allowed',
    connection: fromSleep,
    policies: [denyBar],
    allowed: true,
  },
  {
    name: 'a plaintext peer never matches a principal rule',
    connection: plaintext(),
    policies: [policy('any-principal', Action.ALLOW, [{ principals: [presence()] }])],
    allowed: false,
  },
  {
    name: 'a plaintext peer never matches a namespace presence rule',
    connection: plaintext(),
    policies: [policy('any-ns', Action.ALLOW, [{ namespaces: [presence()] }])],
    allowed: false,
  },
  {
    name: 'a plaintext peer never matches a service account rule',
    connection: plaintext(),
    policies: [
      policy('sa', Action.ALLOW, [{ serviceAccounts: [{ namespace: '', serviceAccount: '' }] }]),
    ],
    allowed: false,
  },
  {
    name: 'not_principals: the excluded peer does not match',
    connection: fromSleep,
    policies: [policy('not-sleep', Action.ALLOW, [{ notPrincipals: [exact(SLEEP)] }])],
    allowed: false,
  },
  {
    name: 'not_principals: any other peer matches, plaintext included',
    connection: plaintext(),
    policies: [policy('not-sleep', Action.ALLOW, [{ notPrincipals: [exact(SLEEP)] }])],
    allowed: true,
    policy: 'default/not-sleep',
  },
  {
    name: 'principal prefix and suffix match without spiffe://',
    connection: fromSleep,
    policies: [
      policy('td', Action.ALLOW, [{ principals: [prefix('cluster.local/ns/foo/')] }]),
      policy('sa', Action.DENY, [{ principals: [suffix('/sa/sleep')] }]),
    ],
    allowed: false,
    policy: 'default/sa',
  },
  {
    name: 'service accounts compare namespace and name',
    connection: fromSleep,
    policies: [
      policy('sa', Action.ALLOW, [
        { serviceAccounts: [{ namespace: 'bar', serviceAccount: 'sleep' }] },
        { serviceAccounts: [{ namespace: 'foo', serviceAccount: 'sleep' }] },
      ]),
    ],
    allowed: true,
    policy: 'default/sa',
  },
  {
    name: 'a source IP inside the block matches',
    connection: fromSleep,
    policies: [policy('from-10-1', Action.ALLOW, [{ sourceIps: [cidr('10.1.0.0', 16)] }])],
    allowed: true,
    policy: 'default/from-10-1',
  },
  {
    name: 'a source IP outside the block does not',
    connection: fromBar,
    policies: [policy('from-10-1', Action.ALLOW, [{ sourceIps: [cidr('10.1.0.0', 16)] }])],
    allowed: false,
  },
  {
    name: 'an IPv4-mapped source address is matched as IPv4',
    connection: plaintext('::ffff:10.1.0.11'),
    policies: [policy('from-host', Action.DENY, [{ sourceIps: [cidr('10.1.0.11', 32)] }])],
    allowed: false,
    policy: 'default/from-host',
  },
  {
    name: 'not_source_ips excludes the block',
    connection: fromSleep,
    policies: [policy('not-10-1', Action.DENY, [{ notSourceIps: [cidr('10.1.0.0', 16)] }])],
    allowed: true,
  },
  {
    name: 'a destination port rule matches its port',
    connection: fromSleep,
    policies: [policy('port-9080', Action.DENY, [{ destinationPorts: [9080] }])],
    allowed: false,
    policy: 'default/port-9080',
  },
  {
    name: 'a destination port rule ignores other ports',
    connection: mtls(SLEEP, '10.1.0.10', 8080),
    policies: [policy('port-9080', Action.DENY, [{ destinationPorts: [9080] }])],
    allowed: true,
  },
  {
    name: 'a destination IP rule',
    connection: fromSleep,
    policies: [policy('dst', Action.ALLOW, [{ destinationIps: [cidr('10.1.0.5', 32)] }])],
    allowed: true,
    policy: 'default/dst',
  },
  {
    name: 'every field of a match must hold',
    connection: fromSleep,
    policies: [
      policy('both', Action.ALLOW, [{ principals: [exact(SLEEP)], destinationPorts: [443] }]),
    ],
    allowed: false,
  },
  {
    name: 'a dry-run DENY is not enforced',
    connection: fromSleep,
    policies: [policy('dry', Action.DENY, [{ principals: [exact(SLEEP)] }], { dryRun: true })],
    allowed: true,
  },
  {
    name: 'a dry-run ALLOW does not count as an ALLOW policy',
    connection: fromBar,
    policies: [policy('dry', Action.ALLOW, [{ principals: [exact(SLEEP)] }], { dryRun: true })],
    allowed: true,
  },
  {
    name: 'a match with no field set never matches',
    connection: fromSleep,
    policies: [policy('empty-match', Action.ALLOW, [{}])],
    allowed: false,
  },
  {
    name: 'a policy without groups never matches',
    connection: fromSleep,
    policies: [policy('no-groups', Action.ALLOW, [], { groups: [] })],
    allowed: false,
  },
  {
    name: 'a group without rules matches everything',
    connection: plaintext(),
    policies: [policy('deny-all', Action.DENY, [], { groups: [{ rules: [] }] })],
    allowed: false,
    policy: 'default/deny-all',
  },
  {
    name: 'rules without matches match everything',
    connection: plaintext(),
    policies: [policy('allow-all', Action.ALLOW, [])],
    allowed: true,
    policy: 'default/allow-all',
  },
];

t.test('authorize', async (t) => {
  for (const c of cases) {
    const decision = authorize(c.connection, c.policies);
    t.equal(decision.allowed, c.allowed, c.name);
    t.equal(decision.policy, c.policy, `${c.name}: deciding policy`);
  }
});

t.test('groups are OR-ed and the rules of a group AND-ed', async (t) => {
  // Istio's rbac_nesting: (ns a OR ns b) AND port 80.
  const nested = decodeAuthorization(
    'default/nested',
    packResource(
      AUTHORIZATION_TYPE_URL,
      create(AuthorizationSchema, {
        name: 'nested',
        namespace: 'default',
        action: Action.ALLOW,
        groups: [
          {
            rules: [
              { matches: [{ namespaces: [exact('a')] }, { namespaces: [exact('b')] }] },
              { matches: [{ destinationPorts: [80] }] },
            ],
          },
          { rules: [{ matches: [{ namespaces: [exact('c')] }] }] },
        ],
      }),
    ),
  );
  const from = (ns: string, port: number) =>
    authorize(mtls(`td/ns/${ns}/sa/x`, '10.1.0.10', port), [nested]).allowed;
  t.ok(from('a', 80));
  t.ok(from('b', 80));
  t.notOk(from('a', 81), 'the port rule fails');
  t.notOk(from('d', 80), 'no namespace alternative matches');
  t.ok(from('c', 1234), 'the second group alone');
});

t.test('decisions give their reason', async (t) => {
  t.equal(authorize(plaintext(), []).reason, 'no ALLOW policy applies');
  t.equal(authorize(fromBar, [denyBar]).reason, 'a DENY policy matched');
  t.equal(authorize(fromSleep, [allowSleep]).reason, 'an ALLOW policy matched');
  t.equal(authorize(fromBar, [allowSleep]).reason, 'no ALLOW policy matched');
});

/** A policy from its proto3 JSON, the form the control plane's tests pin its output in. */
function fromWire(json: JsonValue): Authorization {
  const message = fromJson(AuthorizationSchema, json);
  return decodeAuthorization(
    `${message.namespace}/${message.name}`,
    packResource(AUTHORIZATION_TYPE_URL, message),
  );
}

// controlplane/ambient/peer-authentication.test.ts: what STRICT becomes on the wire.
const STATIC_STRICT = fromWire({
  name: 'istio_converted_static_strict',
  namespace: 'istio-system',
  scope: 'WORKLOAD_SELECTOR',
  action: 'DENY',
  groups: [{ rules: [{ matches: [{ notPrincipals: [{ presence: {} }] }] }] }],
});

t.test('the STRICT policy denies plaintext and allows mTLS', async (t) => {
  t.strictSame(authorize(plaintext(), [STATIC_STRICT]), {
    allowed: false,
    policy: 'istio-system/istio_converted_static_strict',
    reason: 'a DENY policy matched',
  });
  t.equal(authorize(fromSleep, [STATIC_STRICT]).allowed, true);
  t.equal(
    authorize(fromBar, [STATIC_STRICT, allowSleep]).allowed,
    false,
    'an mTLS peer still needs an ALLOW policy when there are some',
  );
});

t.test('STRICT with a PERMISSIVE port lets plaintext through on that port only', async (t) => {
  const converted = fromWire({
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
  });
  t.notOk(authorize(plaintext('10.1.0.11', 8080), [converted]).allowed, 'port 8080 is strict');
  t.ok(authorize(plaintext('10.1.0.11', 9090), [converted]).allowed, '9090 is permissive');
  t.ok(authorize(plaintext('10.1.0.11', 15020), [converted]).allowed, '15020 is disabled');
  t.ok(authorize(mtls(SLEEP, '10.1.0.10', 8080), [converted]).allowed, 'mTLS on any port');
});

t.test('PERMISSIVE with a STRICT port denies plaintext on that port only', async (t) => {
  const converted = fromWire({
    name: 'converted_peer_authentication_strict-ports',
    namespace: 'foo',
    scope: 'WORKLOAD_SELECTOR',
    action: 'DENY',
    groups: [
      { rules: [{ matches: [{ notPrincipals: [{ presence: {} }], destinationPorts: [9090] }] }] },
      { rules: [{ matches: [{ notPrincipals: [{ presence: {} }], destinationPorts: [10000] }] }] },
    ],
  });
  t.notOk(authorize(plaintext('10.1.0.11', 9090), [converted]).allowed);
  t.notOk(authorize(plaintext('10.1.0.11', 10000), [converted]).allowed);
  t.ok(authorize(plaintext('10.1.0.11', 8080), [converted]).allowed);
  t.ok(authorize(mtls(SLEEP, '10.1.0.10', 9090), [converted]).allowed);
});
