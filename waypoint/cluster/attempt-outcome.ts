/** Response headers as Node hands them: lower-case names. */
export type ResponseHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/** How one attempt to an endpoint ended; retry and outlier detection both read it. */
export type AttemptOutcome =
  | { readonly kind: 'response'; readonly status: number; readonly headers?: ResponseHeaders }
  | { readonly kind: 'connect-failure' }
  /** The upstream stream was reset; `requestSent: false` if it went before any request byte. */
  | { readonly kind: 'reset'; readonly requestSent?: boolean }
  | { readonly kind: 'refused-stream' }
  /** The per-try timeout fired. */
  | { readonly kind: 'timeout' };

/** gRPC's highest well-known status code (UNAUTHENTICATED). */
const MAX_KNOWN_GRPC_STATUS = 16;

/**
 * The gRPC status in a (trailers-only) response's `grpc-status`, if there is one; -1 when it
 * is there but not a known code (Envoy's `InvalidCode`).
 */
export function grpcStatus(headers: ResponseHeaders | undefined): number | undefined {
  const raw = headers?.['grpc-status'];
  const text = typeof raw === 'string' ? raw : raw?.[0];
  if (text === undefined || text === '') return undefined;
  const code = /^[0-9]+$/.test(text) ? Number(text) : -1;
  return code <= MAX_KNOWN_GRPC_STATUS ? code : -1;
}
