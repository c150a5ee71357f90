/**
 * The root of every error Ambit raises on purpose. Each subclass carries a stable `code`
 * that callers branch on (never the message), and the underlying error as `cause`.
 */
export abstract class MeshError extends Error {
  abstract readonly code: string;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Reads `code` from anything thrown: MeshError, Node system errors, gRPC errors. */
export function errorCode(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    if (typeof code === 'string' || typeof code === 'number') return String(code);
  }
  return 'UNKNOWN';
}
