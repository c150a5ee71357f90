import { create, equals } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import t from 'tap';
import { Action, AuthorizationSchema } from '../gen/istio/security/authorization_pb.js';
import { AddressSchema } from '../gen/istio/workload/workload_pb.js';
import { WaypointServiceSchema } from '../gen/ambit/waypoint/v1/waypoint_pb.js';
import {
  ADDRESS_TYPE_URL,
  AUTHORIZATION_TYPE_URL,
  WAYPOINT_SERVICE_TYPE_URL,
  isTypeUrl,
  packResource,
  ResourceDecodeError,
  ResourceTypeMismatchError,
  unpackResource,
} from './type-urls.js';

t.test('the type URLs name the generated messages under type.googleapis.com', async (t) => {
  t.equal(ADDRESS_TYPE_URL, `type.googleapis.com/${AddressSchema.typeName}`);
  t.equal(AUTHORIZATION_TYPE_URL, `type.googleapis.com/${AuthorizationSchema.typeName}`);
  t.equal(WAYPOINT_SERVICE_TYPE_URL, `type.googleapis.com/${WaypointServiceSchema.typeName}`);
});

t.test('only the workload, authorization and waypoint types are served', async (t) => {
  t.ok(isTypeUrl('type.googleapis.com/istio.workload.Address'));
  t.ok(isTypeUrl('type.googleapis.com/istio.security.Authorization'));
  t.ok(isTypeUrl('type.googleapis.com/ambit.waypoint.v1.WaypointService'));
  t.notOk(isTypeUrl('type.googleapis.com/envoy.config.cluster.v3.Cluster'));
  t.notOk(isTypeUrl('toString'), 'inherited object keys are not type URLs');
});

t.test('an Address survives packing into Any and back', async (t) => {
  const address = create(AddressSchema, {
    type: { case: 'workload', value: { uid: 'w1', addresses: [new Uint8Array([10, 0, 0, 1])] } },
  });
  const any = packResource(ADDRESS_TYPE_URL, address);
  t.equal(any.typeUrl, ADDRESS_TYPE_URL);
  t.ok(equals(AddressSchema, unpackResource(ADDRESS_TYPE_URL, any), address));
});

t.test('an Authorization survives packing into Any and back', async (t) => {
  const policy = create(AuthorizationSchema, { name: 'p', namespace: 'ns', action: Action.DENY });
  const any = packResource(AUTHORIZATION_TYPE_URL, policy);
  t.ok(equals(AuthorizationSchema, unpackResource(AUTHORIZATION_TYPE_URL, any), policy));
});

t.test('a WaypointService envelope survives packing into Any and back', async (t) => {
  const message = create(WaypointServiceSchema, {
    namespace: 'shop',
    hostname: 'reviews.shop.svc.cluster.local',
    configJson: '{}',
  });
  const any = packResource(WAYPOINT_SERVICE_TYPE_URL, message);
  t.ok(equals(WaypointServiceSchema, unpackResource(WAYPOINT_SERVICE_TYPE_URL, any), message));
});

t.test('unpacking a resource of another type fails with a type mismatch', async (t) => {
  const any = packResource(AUTHORIZATION_TYPE_URL, create(AuthorizationSchema, { name: 'p' }));
  t.throws(() => unpackResource(ADDRESS_TYPE_URL, any), {
    code: 'AMBIT_XDS_RESOURCE_TYPE_MISMATCH',
    expected: ADDRESS_TYPE_URL,
    actual: AUTHORIZATION_TYPE_URL,
  });
  t.throws(() => unpackResource(ADDRESS_TYPE_URL, any), ResourceTypeMismatchError);
});

t.test('unpacking bytes that do not decode fails with a decode error', async (t) => {
  // 0x0a is field 1, length-delimited, followed by a length that runs past the end.
  const any = create(AnySchema, { typeUrl: ADDRESS_TYPE_URL, value: new Uint8Array([0x0a, 0x05]) });
  t.throws(() => unpackResource(ADDRESS_TYPE_URL, any), { code: 'AMBIT_XDS_RESOURCE_DECODE' });
  t.throws(() => unpackResource(ADDRESS_TYPE_URL, any), ResourceDecodeError);
});
