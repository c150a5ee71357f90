/**
 * GatewayProxy on the wire: the JSON of config.ts's type inside the
 * `ambit.gateway.v1.GatewayProxy` envelope, packed in `google.protobuf.Any`. Decoding checks
 * everything, so the gateway never runs on a config it cannot use; a refusal NACKs the push.
 * Error messages name fields, never values: the config carries private keys.
 */
import { create } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { MeshError } from '../../core/errors.js';
import { GatewayProxySchema } from '../gen/ambit/gateway/v1/gateway_pb.js';
import { parse } from '../schema/index.js';
import type { Issue } from '../schema/index.js';
import { GATEWAY_PROXY_TYPE_URL, packResource, unpackResource } from '../xds/type-urls.js';
import { gatewayProxyName, type GatewayProxy } from './config.js';
import { gatewayProxySchema } from './schema.js';

/** A GatewayProxy resource that cannot be used; `issues` say where and why. */
export class GatewayConfigInvalidError extends MeshError {
  readonly code = 'AMBIT_GATEWAY_CONFIG_INVALID';
  constructor(
    readonly resource: string,
    readonly issues: readonly Issue[],
    options?: { cause?: unknown },
  ) {
    const detail = issues.map((i) => (i.path === '' ? i.reason : `${i.path}: ${i.reason}`));
    super(`GatewayProxy ${resource} is invalid: ${detail.join('; ')}`, options);
  }
}

export function encodeGatewayProxy(config: GatewayProxy): Any {
  return packResource(
    GATEWAY_PROXY_TYPE_URL,
    create(GatewayProxySchema, {
      namespace: config.namespace,
      serviceAccount: config.serviceAccount,
      name: config.name,
      configJson: JSON.stringify(config),
    }),
  );
}

export function decodeGatewayProxy(any: Any): GatewayProxy {
  const message = unpackResource(GATEWAY_PROXY_TYPE_URL, any);
  const resource = gatewayProxyName(message);
  let json: unknown;
  try {
    json = JSON.parse(message.configJson);
  } catch {
    // The parser's message quotes the text, which may hold a key: left out on purpose.
    throw new GatewayConfigInvalidError(resource, [{ path: '', reason: 'is not JSON' }]);
  }
  const parsed = parse(gatewayProxySchema, json);
  if (!parsed.ok) throw new GatewayConfigInvalidError(resource, parsed.issues);
  const config: GatewayProxy = parsed.value;
  if (gatewayProxyName(config) !== resource)
    throw new GatewayConfigInvalidError(resource, [
      { path: '', reason: `names ${gatewayProxyName(config)}, not the envelope's gateway` },
    ]);
  return config;
}
