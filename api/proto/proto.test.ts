import { create, toBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import t from 'tap';
import {
  DeltaDiscoveryRequestSchema,
  ResourceSchema,
} from '../gen/envoy/service/discovery/v3/discovery_pb.js';
import { Action, AuthorizationSchema } from '../gen/istio/security/authorization_pb.js';
import { IstioCertificateRequestSchema } from '../gen/istio/v1/auth/ca_pb.js';
import {
  AddressSchema,
  NetworkMode,
  TunnelProtocol,
  WorkloadStatus,
} from '../gen/istio/workload/workload_pb.js';
import { WorkloadRequestSchema } from '../gen/istio/workload/zds/zds_pb.js';

// These tests read the encoded bytes field by field, independently of the generated code, so a
// wrong field number or wire type in a .proto file fails here instead of at interop time.

type WireValue = Uint8Array | bigint;

/** Decodes one message level into field number → values, in wire order. */
function fields(bytes: Uint8Array): Map<number, WireValue[]> {
  const reader = new BinaryReader(bytes);
  const out = new Map<number, WireValue[]>();
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    let value: WireValue;
    if (wireType === WireType.LengthDelimited) value = reader.bytes();
    else if (wireType === WireType.Varint) value = BigInt(reader.uint64());
    else throw new Error(`unexpected wire type ${wireType} at field ${no}`);
    out.set(no, [...(out.get(no) ?? []), value]);
  }
  return out;
}

function one(map: Map<number, WireValue[]>, no: number): WireValue {
  const values = map.get(no);
  if (values?.length !== 1)
    throw new Error(`field ${no}: expected one value, got ${values?.length}`);
  return values[0] as WireValue;
}

function message(map: Map<number, WireValue[]>, no: number): Map<number, WireValue[]> {
  const value = one(map, no);
  if (!(value instanceof Uint8Array)) throw new Error(`field ${no} is not length-delimited`);
  return fields(value);
}

function text(map: Map<number, WireValue[]>, no: number): string {
  const value = one(map, no);
  if (!(value instanceof Uint8Array)) throw new Error(`field ${no} is not length-delimited`);
  return new TextDecoder().decode(value);
}

t.test('a workload Address carries the workload at field 1 with Istio field numbers', async (t) => {
  const address = create(AddressSchema, {
    type: {
      case: 'workload',
      value: {
        uid: 'Kubernetes//Pod/default/sleep-1',
        name: 'sleep-1',
        namespace: 'default',
        addresses: [new Uint8Array([10, 0, 0, 7])],
        network: 'net1',
        tunnelProtocol: TunnelProtocol.HBONE,
        trustDomain: 'cluster.local',
        serviceAccount: 'sleep',
        waypoint: {
          destination: { case: 'hostname', value: { namespace: 'default', hostname: 'wp' } },
          hboneMtlsPort: 15008,
        },
        node: 'node-a',
        services: { 'default/sleep.default.svc.cluster.local': { ports: [{ servicePort: 80 }] } },
        status: WorkloadStatus.UNHEALTHY,
        locality: { region: 'r1' },
        networkMode: NetworkMode.HOST_NETWORK,
        capacity: 3,
      },
    },
  });
  const outer = fields(toBinary(AddressSchema, address));
  t.same([...outer.keys()], [1], 'workload is field 1 of Address');
  const w = message(outer, 1);
  t.equal(text(w, 20), 'Kubernetes//Pod/default/sleep-1', 'uid = 20');
  t.equal(text(w, 1), 'sleep-1', 'name = 1');
  t.equal(text(w, 2), 'default', 'namespace = 2');
  t.same(one(w, 3), new Uint8Array([10, 0, 0, 7]), 'addresses = 3');
  t.equal(text(w, 4), 'net1', 'network = 4');
  t.equal(one(w, 5), 1n, 'tunnel_protocol = 5, HBONE = 1');
  t.equal(text(w, 6), 'cluster.local', 'trust_domain = 6');
  t.equal(text(w, 7), 'sleep', 'service_account = 7');
  const waypoint = message(w, 8);
  t.equal(text(message(waypoint, 1), 2), 'wp', 'waypoint = 8, hostname = 1, hostname.hostname = 2');
  t.equal(one(waypoint, 3), 15008n, 'hbone_mtls_port = 3');
  t.equal(text(w, 9), 'node-a', 'node = 9');
  const entry = message(w, 22);
  t.equal(text(entry, 1), 'default/sleep.default.svc.cluster.local', 'services = 22 (map key)');
  t.equal(one(message(message(entry, 2), 1), 1), 80n, 'PortList.ports = 1, service_port = 1');
  t.equal(one(w, 17), 1n, 'status = 17, UNHEALTHY = 1');
  t.equal(text(message(w, 24), 1), 'r1', 'locality = 24, region = 1');
  t.equal(one(w, 25), 1n, 'network_mode = 25, HOST_NETWORK = 1');
  t.equal(one(message(w, 27), 1), 3n, 'capacity = 27 (UInt32Value)');
});

t.test('a service Address carries the service at field 2 with Istio field numbers', async (t) => {
  const address = create(AddressSchema, {
    type: {
      case: 'service',
      value: {
        name: 'reviews',
        namespace: 'default',
        hostname: 'reviews.default.svc.cluster.local',
        addresses: [{ network: 'net1', address: new Uint8Array([10, 96, 0, 5]) }],
        ports: [{ servicePort: 9080, targetPort: 9081 }],
        waypoint: {
          destination: { case: 'address', value: { address: new Uint8Array([10, 0, 0, 9]) } },
          hboneMtlsPort: 15008,
        },
      },
    },
  });
  const outer = fields(toBinary(AddressSchema, address));
  t.same([...outer.keys()], [2], 'service is field 2 of Address');
  const s = message(outer, 2);
  t.equal(text(s, 1), 'reviews', 'name = 1');
  t.equal(text(s, 3), 'reviews.default.svc.cluster.local', 'hostname = 3');
  const vip = message(s, 4);
  t.equal(text(vip, 1), 'net1', 'NetworkAddress.network = 1');
  t.same(one(vip, 2), new Uint8Array([10, 96, 0, 5]), 'NetworkAddress.address = 2');
  const port = message(s, 5);
  t.equal(one(port, 1), 9080n, 'service_port = 1');
  t.equal(one(port, 2), 9081n, 'target_port = 2');
  t.same(one(message(message(s, 7), 2), 2), new Uint8Array([10, 0, 0, 9]), 'waypoint = 7');
});

t.test('an Authorization nests groups, rules and matches at Istio field numbers', async (t) => {
  const policy = create(AuthorizationSchema, {
    name: 'deny-sleep',
    namespace: 'default',
    action: Action.DENY,
    groups: [
      {
        rules: [
          {
            matches: [
              {
                principals: [
                  { matchType: { case: 'exact', value: 'cluster.local/ns/default/sa/sleep' } },
                ],
                destinationPorts: [9080],
                serviceAccounts: [{ namespace: 'default', serviceAccount: 'sleep' }],
              },
            ],
          },
        ],
      },
    ],
  });
  const a = fields(toBinary(AuthorizationSchema, policy));
  t.equal(text(a, 1), 'deny-sleep', 'name = 1');
  t.equal(one(a, 4), 1n, 'action = 4, DENY = 1');
  // groups = 5, Group.rules = 1, Rules.matches = 2.
  const match = message(message(message(a, 5), 1), 2);
  t.equal(
    text(message(match, 3), 1),
    'cluster.local/ns/default/sa/sleep',
    'principals = 3, exact = 1',
  );
  t.same(one(match, 9), new Uint8Array([0x80 | (9080 & 0x7f), 9080 >> 7]), 'destination_ports = 9');
  t.equal(text(message(match, 11), 2), 'sleep', 'service_accounts = 11, serviceAccount = 2');
});

t.test('an IstioCertificateRequest encodes csr=1, validity_duration=3, metadata=4', async (t) => {
  const request = create(IstioCertificateRequestSchema, {
    csr: 'x',
    validityDuration: 60n,
    // protobuf-es represents google.protobuf.Struct fields as plain JSON objects.
    metadata: { a: 'b' },
  });
  // csr: tag 0x0a "x"; validity_duration: tag 0x18 varint 60; metadata: tag 0x22, a Struct whose
  // fields map entry is {key: "a", value: Value{string_value: "b"}}.
  const expected = [
    0x0a, 0x01, 0x78, 0x18, 0x3c, 0x22, 0x0a, 0x0a, 0x08, 0x0a, 0x01, 0x61, 0x12, 0x03, 0x1a, 0x01,
    0x62,
  ];
  t.same([...toBinary(IstioCertificateRequestSchema, request)], expected);
});

t.test('a Delta ADS request and resource keep Envoy field numbers', async (t) => {
  const request = create(DeltaDiscoveryRequestSchema, {
    node: { id: 'ztunnel~10.0.0.1~ztunnel-x.istio-system~istio-system.svc.cluster.local' },
    typeUrl: 'type.googleapis.com/istio.workload.Address',
    resourceNamesSubscribe: ['*'],
    responseNonce: 'n1',
  });
  const r = fields(toBinary(DeltaDiscoveryRequestSchema, request));
  t.match(text(message(r, 1), 1), /^ztunnel~/, 'node = 1, Node.id = 1');
  t.equal(text(r, 2), 'type.googleapis.com/istio.workload.Address', 'type_url = 2');
  t.equal(text(r, 3), '*', 'resource_names_subscribe = 3');
  t.equal(text(r, 6), 'n1', 'response_nonce = 6');

  const resource = create(ResourceSchema, {
    name: 'default/reviews.default.svc.cluster.local',
    version: 'v7',
    resource: { typeUrl: 'type.googleapis.com/istio.workload.Address', value: new Uint8Array() },
  });
  const res = fields(toBinary(ResourceSchema, resource));
  t.equal(text(res, 3), 'default/reviews.default.svc.cluster.local', 'name = 3');
  t.equal(text(res, 1), 'v7', 'version = 1');
  t.equal(text(message(res, 2), 1), 'type.googleapis.com/istio.workload.Address', 'resource = 2');
});

t.test('a ZDS add request carries uid=1 and workload_info=2 inside payload field 1', async (t) => {
  const request = create(WorkloadRequestSchema, {
    payload: {
      case: 'add',
      value: { uid: 'pod-uid', workloadInfo: { name: 'p', namespace: 'ns', serviceAccount: 'sa' } },
    },
  });
  const outer = fields(toBinary(WorkloadRequestSchema, request));
  t.same([...outer.keys()], [1], 'add = 1');
  const add = message(outer, 1);
  t.equal(text(add, 1), 'pod-uid', 'AddWorkload.uid = 1');
  t.equal(text(message(add, 2), 3), 'sa', 'workload_info = 2, service_account = 3');

  const del = fields(
    toBinary(
      WorkloadRequestSchema,
      create(WorkloadRequestSchema, {
        payload: { case: 'del', value: { uid: 'pod-uid' } },
      }),
    ),
  );
  t.equal(text(message(del, 2), 2), 'pod-uid', 'del = 2, DelWorkload.uid = 2');
});
