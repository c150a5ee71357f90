import type { Metadata } from '@grpc/grpc-js';

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * The token of an `authorization: Bearer <token>` gRPC header, or undefined when there is
 * none, it is not a bearer token, or the header is repeated (which token would count is
 * ambiguous, so neither does).
 */
export function bearerToken(metadata: Metadata): string | undefined {
  const values = metadata.get('authorization');
  const [value] = values;
  if (values.length !== 1 || typeof value !== 'string') return undefined;
  return BEARER.exec(value)?.[1];
}
