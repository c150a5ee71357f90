import { fromBinary, toBinary } from '@bufbuild/protobuf';
import type { MessageShape } from '@bufbuild/protobuf';
import { create } from '@bufbuild/protobuf';
import { AnySchema } from '@bufbuild/protobuf/wkt';
import type { Any } from '@bufbuild/protobuf/wkt';
import { MeshError } from '../../core/errors.js';
import { MeshConfigSchema } from '../gen/ambit/mesh/v1/mesh_pb.js';
import { GatewayProxySchema } from '../gen/ambit/gateway/v1/gateway_pb.js';
import { WaypointServiceSchema } from '../gen/ambit/waypoint/v1/waypoint_pb.js';
import { AuthorizationSchema } from '../gen/istio/security/authorization_pb.js';
import { AddressSchema } from '../gen/istio/workload/workload_pb.js';
import { GATEWAY_PROXY_TYPE_URL } from '../gateway/config.js';
import { WAYPOINT_SERVICE_TYPE_URL } from '../waypoint/config.js';

// The resource types of Istio's ambient workload API on the Delta ADS stream. Istio's clients
// (ztunnel) subscribe with exactly these strings, so they must match byte for byte.
export const ADDRESS_TYPE_URL = 'type.googleapis.com/istio.workload.Address';
export const AUTHORIZATION_TYPE_URL = 'type.googleapis.com/istio.security.Authorization';
// Ambit's own types on the same stream: the waypoint's compiled configuration, and the
// mesh-wide settings every proxy reads.
export { WAYPOINT_SERVICE_TYPE_URL };
export const MESH_CONFIG_TYPE_URL = 'type.googleapis.com/ambit.mesh.v1.MeshConfig';
// ...and the ingress gateway's, sent only to the gateway it is for.
export { GATEWAY_PROXY_TYPE_URL };

/** A resource type Ambit serves over xDS. */
export type TypeUrl =
  | typeof ADDRESS_TYPE_URL
  | typeof AUTHORIZATION_TYPE_URL
  | typeof WAYPOINT_SERVICE_TYPE_URL
  | typeof MESH_CONFIG_TYPE_URL
  | typeof GATEWAY_PROXY_TYPE_URL;

const schemas = {
  [ADDRESS_TYPE_URL]: AddressSchema,
  [AUTHORIZATION_TYPE_URL]: AuthorizationSchema,
  [WAYPOINT_SERVICE_TYPE_URL]: WaypointServiceSchema,
  [MESH_CONFIG_TYPE_URL]: MeshConfigSchema,
  [GATEWAY_PROXY_TYPE_URL]: GatewayProxySchema,
} as const;

/** The decoded message a type URL stands for: `Address`, `Authorization`, … */
export type ResourceOf<U extends TypeUrl> = MessageShape<(typeof schemas)[U]>;

/** Narrows a type URL read off the wire (a request's `type_url`) to one Ambit serves. */
export function isTypeUrl(value: string): value is TypeUrl {
  return Object.hasOwn(schemas, value);
}

/** The resource's Any carries some other type than the one the stream is about. */
export class ResourceTypeMismatchError extends MeshError {
  readonly code = 'AMBIT_XDS_RESOURCE_TYPE_MISMATCH';
  constructor(
    readonly expected: TypeUrl,
    readonly actual: string,
  ) {
    super(`xDS resource has type ${actual}, expected ${expected}`);
  }
}

/** The resource's bytes are not a valid encoding of its declared type. */
export class ResourceDecodeError extends MeshError {
  readonly code = 'AMBIT_XDS_RESOURCE_DECODE';
  constructor(
    readonly typeUrl: TypeUrl,
    options: { cause: unknown },
  ) {
    super(`xDS resource of type ${typeUrl} does not decode`, options);
  }
}

/** Wraps a resource in `google.protobuf.Any` under its type URL. */
export function packResource<U extends TypeUrl>(typeUrl: U, message: ResourceOf<U>): Any {
  // The schema table is keyed by U, so the pair is consistent; TypeScript cannot follow the
  // correlation through the indexed access without the widening below.
  const schema = schemas[typeUrl] as (typeof schemas)[TypeUrl];
  return create(AnySchema, {
    typeUrl,
    value: toBinary(schema, message as MessageShape<typeof schema>),
  });
}

/**
 * Decodes a resource from `google.protobuf.Any`, checking that it carries the expected type.
 * Throws ResourceTypeMismatchError or ResourceDecodeError.
 */
export function unpackResource<U extends TypeUrl>(typeUrl: U, any: Any): ResourceOf<U> {
  if (any.typeUrl !== typeUrl) throw new ResourceTypeMismatchError(typeUrl, any.typeUrl);
  try {
    return fromBinary(schemas[typeUrl], any.value) as ResourceOf<U>;
  } catch (cause) {
    throw new ResourceDecodeError(typeUrl, { cause });
  }
}
