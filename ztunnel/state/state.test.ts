import { create } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import t from 'tap';
import { Action, Scope } from '../../api/gen/istio/security/authorization_pb.js';
import {
  LoadBalancing_HealthPolicy,
  NetworkAddressSchema,
  NetworkMode,
  TunnelProtocol,
  WorkloadStatus,
} from '../../api/gen/istio/workload/workload_pb.js';
import { ADDRESS_TYPE_URL, AUTHORIZATION_TYPE_URL, packResource } from '../../api/xds/type-urls.js';
import type { InvalidResourceError } from './errors.js';
import { ProxyState } from './state.js';
import {
  addressDelta,
  authorizationDelta,
  ipBytes,
  service,
  waypointByHostname,
  workload,
} from './testing/deltas.js';

const REVIEWS_KEY = 'default/reviews.default.svc.cluster.local';

function reviewsPod(name: string, ip: string, extra: Partial<Parameters<typeof workload>[0]> = {}) {
  return workload({
    name,
    ips: [ip],
    serviceAccount: 'bookinfo-reviews',
    services: { [REVIEWS_KEY]: { ports: [{ servicePort: 9080, targetPort: 9080 }] } },
    ...extra,
  });
}

function stateWith(...deltas: Parameters<typeof addressDelta>[0][]): ProxyState {
  const state = new ProxyState();
  for (const upserts of deltas) state.applyAddresses(addressDelta(upserts));
  return state;
}

t.test('a workload decodes with ztunnel defaults and is found by IP, uid and name', async (t) => {
  const state = stateWith([
    workload({
      name: 'reviews-v1',
      ips: ['10.1.0.5', 'fd00:0:0:0:0:0:0:5'],
      serviceAccount: '',
      node: 'node-1',
      canonicalName: 'reviews',
      canonicalRevision: 'v1',
      workloadName: 'reviews-v1',
    }),
  ]);
  const w = state.workloadByIp('10.1.0.5');
  t.ok(w);
  t.equal(w?.uid, 'Kubernetes//Pod/default/reviews-v1');
  t.strictSame(w?.addresses, ['10.1.0.5', 'fd00::5'], 'IPv6 bytes become RFC 5952 text');
  t.equal(w?.serviceAccount, 'default', 'an empty service account is default');
  t.equal(w?.trustDomain, 'cluster.local', 'an empty trust domain is cluster.local');
  t.equal(w?.clusterId, 'Kubernetes');
  t.equal(w?.identity, 'spiffe://cluster.local/ns/default/sa/default');
  t.equal(w?.protocol, 'HBONE');
  t.equal(w?.healthy, true);
  t.equal(state.workloadByIp('fd00::5'), w, 'found by its IPv6 address');
  t.equal(state.workloadByIp('FD00:0::5'), w, 'IPv6 text in any spelling');
  t.equal(state.workloadByIp('::ffff:10.1.0.5'), w, 'an IPv4-mapped address finds the IPv4 one');
  t.equal(state.workloadByUid('Kubernetes//Pod/default/reviews-v1'), w);
  t.equal(state.workloadByName('default', 'reviews-v1'), w);
  t.equal(state.workloadByIp('10.1.0.6'), undefined);
});

t.test('a host-network workload is not found by IP', async (t) => {
  const state = stateWith([
    workload({ name: 'node-agent', ips: ['192.168.0.2'], networkMode: NetworkMode.HOST_NETWORK }),
  ]);
  t.equal(state.workloadByIp('192.168.0.2'), undefined);
  t.ok(state.workloadByName('default', 'node-agent'));
});

t.test('two workloads on one IP: the pod in the mesh wins', async (t) => {
  const entry = workload({ name: 'vm', ips: ['10.1.0.9'] });
  if (entry.type.case === 'workload') {
    entry.type.value.uid = 'Kubernetes/networking.istio.io/WorkloadEntry/default/vm';
  }
  const state = stateWith([
    workload({ name: 'plain', ips: ['10.1.0.9'], tunnelProtocol: TunnelProtocol.NONE }),
    workload({ name: 'meshed', ips: ['10.1.0.9'] }),
    entry,
  ]);
  t.equal(state.workloadByIp('10.1.0.9')?.name, 'meshed');
});

t.test(
  'a service is found by each VIP and its endpoints are the workloads naming it',
  async (t) => {
    const state = stateWith([
      service({
        name: 'reviews',
        vips: ['10.96.0.10', 'fd00:96::10'],
        ports: [
          { servicePort: 9080, targetPort: 9080 },
          { servicePort: 80, targetPort: 0 },
        ],
      }),
      reviewsPod('reviews-v1', '10.1.0.5'),
      reviewsPod('reviews-v2', '10.1.0.6', {
        services: {
          [REVIEWS_KEY]: {
            ports: [
              { servicePort: 9080, targetPort: 19080 },
              { servicePort: 80, targetPort: 8080 },
            ],
          },
        },
      }),
      reviewsPod('reviews-v3', '10.1.0.7', { status: WorkloadStatus.UNHEALTHY }),
      workload({ name: 'ratings', ips: ['10.1.0.8'] }),
    ]);
    const svc = state.serviceByVip('10.96.0.10');
    t.equal(svc?.key, REVIEWS_KEY);
    t.equal(state.serviceByVip('fd00:96:0::10'), svc);
    if (svc === undefined) return;
    const endpoints = (port: number) =>
      state
        .endpointsOf(svc, port)
        .map((e) => `${e.workload.name}:${e.port}`)
        .sort();
    t.strictSame(
      endpoints(9080),
      ['reviews-v1:9080', 'reviews-v2:19080'],
      'healthy workloads only; the workload mapping wins',
    );
    t.strictSame(
      endpoints(80),
      ['reviews-v2:8080'],
      'a service port with target port 0 needs the workload to map it',
    );
    t.strictSame(endpoints(443), [], 'a port the service does not have has no endpoints');
  },
);

t.test('a service that allows unhealthy endpoints uses them', async (t) => {
  const state = stateWith([
    service({
      name: 'reviews',
      vips: ['10.96.0.10'],
      ports: [{ servicePort: 9080, targetPort: 9080 }],
      loadBalancing: { healthPolicy: LoadBalancing_HealthPolicy.ALLOW_ALL },
    }),
    reviewsPod('reviews-v3', '10.1.0.7', { status: WorkloadStatus.UNHEALTHY }),
  ]);
  const svc = state.serviceByVip('10.96.0.10');
  t.equal(svc && state.endpointsOf(svc, 9080)[0]?.workload.name, 'reviews-v3');
});

t.test('a VIP block finds its service by any address inside it', async (t) => {
  const entry = service({ name: 'external', ports: [{ servicePort: 443, targetPort: 443 }] });
  if (entry.type.case === 'service') {
    entry.type.value.addresses = [
      create(NetworkAddressSchema, { address: ipBytes('203.0.113.0'), length: 24 }),
    ];
  }
  const state = stateWith([entry]);
  t.equal(state.serviceByVip('203.0.113.77')?.name, 'external');
  t.equal(state.serviceByVip('203.0.114.1'), undefined);
});

t.test(
  'a waypoint named by hostname resolves to its service VIP, even when it arrives later',
  async (t) => {
    const state = stateWith([
      reviewsPod('reviews-v1', '10.1.0.5', {
        waypoint: waypointByHostname('default', 'waypoint.default.svc.cluster.local'),
      }),
    ]);
    const before = state.workloadByIp('10.1.0.5');
    t.equal(before?.waypoint, undefined, 'not resolvable yet');
    t.strictSame(before?.waypointRef, {
      kind: 'hostname',
      namespace: 'default',
      hostname: 'waypoint.default.svc.cluster.local',
      hboneMtlsPort: 15008,
    });
    state.applyAddresses(
      addressDelta([
        service({
          name: 'waypoint',
          vips: ['10.96.0.99'],
          ports: [{ servicePort: 15008, targetPort: 15008 }],
        }),
      ]),
    );
    t.strictSame(state.workloadByIp('10.1.0.5')?.waypoint, {
      address: '10.96.0.99',
      hboneMtlsPort: 15008,
    });
  },
);

t.test('a removal forgets a workload and a service, and their indexes', async (t) => {
  const state = stateWith([
    service({
      name: 'reviews',
      vips: ['10.96.0.10'],
      ports: [{ servicePort: 9080, targetPort: 9080 }],
    }),
    reviewsPod('reviews-v1', '10.1.0.5'),
  ]);
  let changes = 0;
  state.on('change', () => changes++);
  state.applyAddresses(addressDelta([], ['Kubernetes//Pod/default/reviews-v1']));
  t.equal(state.workloadByIp('10.1.0.5'), undefined);
  t.equal(state.workloadByName('default', 'reviews-v1'), undefined);
  const svc = state.serviceByVip('10.96.0.10');
  t.strictSame(svc && state.endpointsOf(svc, 9080), [], 'no longer an endpoint');
  state.applyAddresses(addressDelta([], [REVIEWS_KEY]));
  t.equal(state.serviceByVip('10.96.0.10'), undefined);
  t.equal(changes, 2, 'each delta emits change');
  state.applyAddresses(addressDelta([]));
  t.equal(changes, 2, 'an empty delta does not');
});

t.test('an upsert replaces the workload and drops its old addresses', async (t) => {
  const state = stateWith([reviewsPod('reviews-v1', '10.1.0.5')]);
  state.applyAddresses(addressDelta([reviewsPod('reviews-v1', '10.1.0.15')]));
  t.equal(state.workloadByIp('10.1.0.5'), undefined);
  t.equal(state.workloadByIp('10.1.0.15')?.name, 'reviews-v1');
});

t.test('a delta with one bad resource throws and changes nothing', async (t) => {
  const cases: {
    name: string;
    reason: RegExp;
    delta: () => Parameters<ProxyState['applyAddresses']>[0];
  }[] = [
    {
      name: 'bytes that do not decode',
      reason: /does not decode/,
      delta: () => {
        const d = addressDelta([reviewsPod('reviews-v9', '10.1.0.99')]);
        const bad = create(AnySchema, {
          typeUrl: ADDRESS_TYPE_URL,
          value: Uint8Array.of(0x0a, 0x05, 1),
        });
        return {
          upserts: new Map([
            ...d.upserts,
            ['Kubernetes//Pod/default/x', { version: '1', resource: bad }],
          ]),
          removals: [],
        };
      },
    },
    {
      name: 'the wrong type URL',
      reason: /carries type.googleapis.com\/istio.security.Authorization/,
      delta: () => {
        const packed = packResource(ADDRESS_TYPE_URL, reviewsPod('reviews-v9', '10.1.0.99'));
        const resource = create(AnySchema, {
          typeUrl: AUTHORIZATION_TYPE_URL,
          value: packed.value,
        });
        return {
          upserts: new Map([['Kubernetes//Pod/default/reviews-v9', { version: '1', resource }]]),
          removals: [],
        };
      },
    },
    {
      name: 'an address of 5 bytes',
      reason: /5 bytes long/,
      delta: () => {
        const w = reviewsPod('reviews-v9', '10.1.0.99');
        if (w.type.case === 'workload') w.type.value.addresses.push(Uint8Array.of(1, 2, 3, 4, 5));
        return addressDelta([w]);
      },
    },
    {
      name: 'a resource name that is not the uid',
      reason: /differs from the workload uid/,
      delta: () => {
        const d = addressDelta([reviewsPod('reviews-v9', '10.1.0.99')]);
        const [update] = d.upserts.values();
        return { upserts: new Map([['reviews-v9', update!]]), removals: [] };
      },
    },
    {
      name: 'LEGACY_ISTIO_MTLS',
      reason: /LEGACY_ISTIO_MTLS is not supported/,
      delta: () =>
        addressDelta([
          reviewsPod('reviews-v9', '10.1.0.99', {
            tunnelProtocol: TunnelProtocol.LEGACY_ISTIO_MTLS,
          }),
        ]),
    },
    {
      name: 'a waypoint without a destination',
      reason: /neither an address nor a hostname/,
      delta: () =>
        addressDelta([
          reviewsPod('reviews-v9', '10.1.0.99', { waypoint: { hboneMtlsPort: 15008 } }),
        ]),
    },
    {
      name: 'a service key without a slash',
      reason: /service key "reviews"/,
      delta: () =>
        addressDelta([
          reviewsPod('reviews-v9', '10.1.0.99', { services: { reviews: { ports: [] } } }),
        ]),
    },
    {
      name: 'an Address with neither kind',
      reason: /neither a workload nor a service/,
      delta: () => {
        const d = addressDelta([reviewsPod('reviews-v9', '10.1.0.99')]);
        const empty = create(AnySchema, { typeUrl: ADDRESS_TYPE_URL, value: new Uint8Array() });
        return {
          upserts: new Map([...d.upserts, ['x/y', { version: '1', resource: empty }]]),
          removals: [],
        };
      },
    },
  ];
  for (const c of cases) {
    const state = stateWith([reviewsPod('reviews-v1', '10.1.0.5')]);
    const before = JSON.stringify(state.dump());
    let changed = false;
    state.on('change', () => (changed = true));
    const delta = c.delta();
    const withRemoval = {
      upserts: delta.upserts,
      removals: ['Kubernetes//Pod/default/reviews-v1'],
    };
    t.throws(
      () => state.applyAddresses(withRemoval),
      { name: 'InvalidResourceError', message: c.reason },
      c.name,
    );
    t.equal(JSON.stringify(state.dump()), before, `${c.name}: state unchanged`);
    t.equal(
      state.workloadByIp('10.1.0.99'),
      undefined,
      `${c.name}: the good resource is not applied`,
    );
    t.notOk(changed, `${c.name}: no change event`);
  }
});

t.test('the error names the resource and has a stable code', async (t) => {
  const state = new ProxyState();
  const w = reviewsPod('reviews-v1', '10.1.0.5', {
    tunnelProtocol: TunnelProtocol.LEGACY_ISTIO_MTLS,
  });
  try {
    state.applyAddresses(addressDelta([w]));
    t.fail('expected a throw');
  } catch (err) {
    t.equal((err as InvalidResourceError).code, 'AMBIT_ZTUNNEL_RESOURCE_INVALID');
    t.match((err as Error).message, /Kubernetes\/\/Pod\/default\/reviews-v1/);
  }
});

t.test('policiesFor: global, the namespace, and the policies the workload lists', async (t) => {
  const state = stateWith([
    reviewsPod('reviews-v1', '10.1.0.5', {
      authorizationPolicies: [
        'default/reviews-only',
        'istio-system/istio_converted_static_strict',
        'default/not-yet-sent',
      ],
    }),
    workload({ name: 'other', namespace: 'other', ips: ['10.1.0.6'] }),
  ]);
  state.applyAuthorizations(
    authorizationDelta([
      { name: 'mesh-wide', namespace: 'istio-system', scope: Scope.GLOBAL, action: Action.DENY },
      { name: 'ns-wide', namespace: 'default', scope: Scope.NAMESPACE, action: Action.ALLOW },
      { name: 'other-ns', namespace: 'other', scope: Scope.NAMESPACE },
      { name: 'reviews-only', namespace: 'default', scope: Scope.WORKLOAD_SELECTOR },
      { name: 'unlisted', namespace: 'default', scope: Scope.WORKLOAD_SELECTOR },
      {
        name: 'istio_converted_static_strict',
        namespace: 'istio-system',
        scope: Scope.WORKLOAD_SELECTOR,
        action: Action.DENY,
      },
    ]),
  );
  const keys = (ns: string, name: string) => {
    const w = state.workloadByName(ns, name);
    return w
      ? state
          .policiesFor(w)
          .map((p) => p.key)
          .sort()
      : [];
  };
  t.strictSame(keys('default', 'reviews-v1'), [
    'default/ns-wide',
    'default/reviews-only',
    'istio-system/istio_converted_static_strict',
    'istio-system/mesh-wide',
  ]);
  t.strictSame(keys('other', 'other'), ['istio-system/mesh-wide', 'other/other-ns']);

  state.applyAuthorizations(
    authorizationDelta(
      [{ name: 'ns-wide', namespace: 'default', scope: Scope.WORKLOAD_SELECTOR }],
      ['istio-system/mesh-wide'],
    ),
  );
  t.strictSame(
    keys('default', 'reviews-v1'),
    ['default/reviews-only', 'istio-system/istio_converted_static_strict'],
    'a removed policy and one whose scope narrowed no longer apply',
  );
});

t.test('a bad Authorization refuses the whole delta', async (t) => {
  const match = (m: object) => ({ groups: [{ rules: [{ matches: [m] }] }] });
  const cases: {
    name: string;
    reason: RegExp;
    bad: Parameters<typeof authorizationDelta>[0][number];
  }[] = [
    {
      name: 'an unknown scope',
      reason: /scope 7/,
      bad: { name: 'bad', namespace: 'default', scope: 7 as Scope },
    },
    {
      name: 'an unknown action',
      reason: /action 9/,
      bad: { name: 'bad', namespace: 'default', action: 9 as Action },
    },
    {
      name: 'a string match without a kind',
      reason: /string match has no kind/,
      bad: { name: 'bad', namespace: 'default', ...match({ principals: [{}] }) },
    },
    {
      name: 'an address of 3 bytes',
      reason: /3 bytes long/,
      bad: {
        name: 'bad',
        namespace: 'default',
        ...match({ sourceIps: [{ address: Uint8Array.of(1, 2, 3), length: 24 }] }),
      },
    },
    {
      name: 'a prefix longer than the address',
      reason: /prefix length 33/,
      bad: {
        name: 'bad',
        namespace: 'default',
        ...match({ sourceIps: [{ address: ipBytes('10.0.0.0'), length: 33 }] }),
      },
    },
    {
      name: 'a port out of range',
      reason: /port 70000/,
      bad: { name: 'bad', namespace: 'default', ...match({ destinationPorts: [70000] }) },
    },
  ];
  for (const c of cases) {
    const state = new ProxyState();
    state.applyAuthorizations(
      authorizationDelta([{ name: 'keep', namespace: 'default', scope: Scope.NAMESPACE }]),
    );
    const delta = authorizationDelta(
      [{ name: 'good', namespace: 'default', scope: Scope.NAMESPACE }, c.bad],
      ['default/keep'],
    );
    t.throws(
      () => state.applyAuthorizations(delta),
      { name: 'InvalidResourceError', message: c.reason },
      c.name,
    );
    const w = stateWith([workload({ name: 'a', ips: ['10.1.0.1'] })]).workloadByIp('10.1.0.1');
    t.strictSame(
      w && state.policiesFor(w).map((p) => p.key),
      ['default/keep'],
      `${c.name}: unchanged`,
    );
  }
});

t.test('an Authorization named other than namespace/name is refused', async (t) => {
  const delta = authorizationDelta([{ name: 'p', namespace: 'default' }]);
  const [update] = delta.upserts.values();
  t.throws(
    () =>
      new ProxyState().applyAuthorizations({ upserts: new Map([['p', update!]]), removals: [] }),
    { name: 'InvalidResourceError', message: /differs from the policy's "default\/p"/ },
  );
});

t.test('dump shows IPs as text, services with endpoints, and policies', async (t) => {
  const state = stateWith([
    service({
      name: 'reviews',
      vips: ['10.96.0.10'],
      ports: [{ servicePort: 9080, targetPort: 9080 }],
    }),
    reviewsPod('reviews-v1', '10.1.0.5'),
  ]);
  state.applyAuthorizations(
    authorizationDelta([
      {
        name: 'from-10',
        namespace: 'default',
        scope: Scope.NAMESPACE,
        groups: [
          { rules: [{ matches: [{ sourceIps: [{ address: ipBytes('10.0.0.0'), length: 8 }] }] }] },
        ],
      },
    ]),
  );
  const dump = JSON.parse(JSON.stringify(state.dump())) as {
    workloads: { addresses: string[]; services: Record<string, unknown> }[];
    services: { vips: string[]; endpoints: { workloadUid: string; ports: unknown }[] }[];
    policies: { key: string; groups: { rules: { matches: { sourceIps: unknown }[] }[] }[] }[];
  };
  t.strictSame(dump.workloads[0]?.addresses, ['10.1.0.5']);
  t.strictSame(dump.workloads[0]?.services, {
    [REVIEWS_KEY]: [{ servicePort: 9080, targetPort: 9080 }],
  });
  t.strictSame(dump.services[0]?.vips, ['10.96.0.10']);
  t.strictSame(dump.services[0]?.endpoints, [
    {
      workloadUid: 'Kubernetes//Pod/default/reviews-v1',
      healthy: true,
      ports: [{ servicePort: 9080, targetPort: 9080 }],
    },
  ]);
  t.equal(dump.policies[0]?.key, 'default/from-10');
  t.strictSame(dump.policies[0]?.groups[0]?.rules[0]?.matches[0]?.sourceIps, [
    { address: '10.0.0.0', length: 8 },
  ]);
});
