/**
 * WaypointService on the wire: the JSON of config.ts's type inside the
 * `ambit.waypoint.v1.WaypointService` envelope, packed in `google.protobuf.Any`. Decoding
 * checks everything (shape, references, the envelope agreeing with the JSON) so the waypoint
 * never runs on a config it cannot use; a refusal NACKs the push.
 */
import { create } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { MeshError } from '../../core/errors.js';
import { WaypointServiceSchema } from '../gen/ambit/waypoint/v1/waypoint_pb.js';
import { parse } from '../schema/index.js';
import type { Issue } from '../schema/index.js';
import { packResource, unpackResource, WAYPOINT_SERVICE_TYPE_URL } from '../xds/type-urls.js';
import type { WaypointService } from './config.js';
import { waypointServiceSchema } from './schema.js';

/** The xDS resource name of a service's config: `namespace/hostname`. */
export function waypointServiceName(config: Pick<WaypointService, 'namespace' | 'hostname'>) {
  return `${config.namespace}/${config.hostname}`;
}

/** A WaypointService resource that cannot be used; `issues` say where and why. */
export class WaypointConfigInvalidError extends MeshError {
  readonly code = 'AMBIT_WAYPOINT_CONFIG_INVALID';
  constructor(
    readonly resource: string,
    readonly issues: readonly Issue[],
    options?: { cause?: unknown },
  ) {
    const detail = issues.map((i) => (i.path === '' ? i.reason : `${i.path}: ${i.reason}`));
    super(`WaypointService ${resource} is invalid: ${detail.join('; ')}`, options);
  }
}

/** Packs a service's config for the ADS stream. */
export function encodeWaypointService(config: WaypointService): Any {
  return packResource(
    WAYPOINT_SERVICE_TYPE_URL,
    create(WaypointServiceSchema, {
      namespace: config.namespace,
      hostname: config.hostname,
      configJson: JSON.stringify(config),
    }),
  );
}

/**
 * Unpacks and checks a WaypointService. Throws ResourceTypeMismatchError or
 * ResourceDecodeError (api/xds/type-urls.ts) for a bad envelope, WaypointConfigInvalidError
 * for JSON that is not a valid config.
 */
export function decodeWaypointService(any: Any): WaypointService {
  const message = unpackResource(WAYPOINT_SERVICE_TYPE_URL, any);
  const resource = waypointServiceName(message);
  let json: unknown;
  try {
    json = JSON.parse(message.configJson);
  } catch (cause) {
    throw new WaypointConfigInvalidError(resource, [{ path: '', reason: 'is not JSON' }], {
      cause,
    });
  }
  const parsed = parse(waypointServiceSchema, json);
  if (!parsed.ok) throw new WaypointConfigInvalidError(resource, parsed.issues);
  const config: WaypointService = parsed.value;
  const mismatched: Issue[] = [];
  if (config.namespace !== message.namespace) {
    mismatched.push({
      path: 'namespace',
      reason: `must equal the envelope's ${message.namespace}`,
    });
  }
  if (config.hostname !== message.hostname) {
    mismatched.push({ path: 'hostname', reason: `must equal the envelope's ${message.hostname}` });
  }
  if (mismatched.length > 0) throw new WaypointConfigInvalidError(resource, mismatched);
  return config;
}
