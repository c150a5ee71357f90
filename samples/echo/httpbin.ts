/**
 * The httpbin paths Istio's docs use against `httpbin` (the Ingress Gateways and Secure
 * Gateways tasks), so the echo can stand in for it: `/status/{code}` answers that status,
 * `/delay/{seconds}` answers after that long (at most 10 s, as httpbin caps it), `/headers`
 * and `/get` answer the request's headers as httpbin's JSON shapes do.
 */
export type HttpbinAnswer =
  | { readonly kind: 'status'; readonly status: number }
  | { readonly kind: 'delay'; readonly delayMs: number }
  | { readonly kind: 'headers' }
  | { readonly kind: 'get' };

const MAX_DELAY_S = 10;

export function httpbinRoute(path: string): HttpbinAnswer | undefined {
  const [bare = ''] = path.split('?');
  const status = /^\/status\/(\d{3})$/.exec(bare);
  if (status !== null) {
    const code = Number(status[1]);
    return code >= 100 && code <= 599 ? { kind: 'status', status: code } : undefined;
  }
  const delay = /^\/delay\/(\d+(?:\.\d+)?)$/.exec(bare);
  if (delay !== null)
    return { kind: 'delay', delayMs: Math.round(Math.min(Number(delay[1]), MAX_DELAY_S) * 1000) };
  if (bare === '/headers') return { kind: 'headers' };
  if (bare === '/get') return { kind: 'get' };
  return undefined;
}

/** httpbin's JSON for `/headers` and `/get`: header names in its Title-Case. */
export function httpbinBody(
  answer: { kind: 'headers' | 'get' },
  request: {
    path: string;
    host: string;
    headers: Readonly<Record<string, string | readonly string[]>>;
    sourceAddress: string;
  },
): string {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers))
    headers[
      name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())
    ] = typeof value === 'string' ? value : value.join(',');
  if (answer.kind === 'headers') return JSON.stringify({ headers });
  const args = Object.fromEntries(new URLSearchParams(request.path.split('?')[1] ?? ''));
  return JSON.stringify({
    args,
    headers,
    origin: request.sourceAddress,
    url: `http://${request.host}${request.path}`,
  });
}
