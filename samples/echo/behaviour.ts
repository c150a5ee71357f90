/**
 * How an echo backend misbehaves on purpose, so that tests of retries, timeouts, outlier
 * detection and fault handling have something to act on. A server-wide setting (flags or
 * options) makes a flaky or broken endpoint; request headers steer one request.
 */
export interface EchoBehaviour {
  /** The status of every answer unless a request asks for another (default 200). */
  status: number;
  /** Every Nth request (counting from 1) is answered with `failStatus`; 0 never. */
  failEvery: number;
  /** The status of those failing answers (default 503). */
  failStatus: number;
  /** Time to wait before answering, in milliseconds. */
  delayMs: number;
}

export const DEFAULT_BEHAVIOUR: EchoBehaviour = {
  status: 200,
  failEvery: 0,
  failStatus: 503,
  delayMs: 0,
};

/** Request headers that steer one request; they win over the server-wide behaviour. */
export const STATUS_HEADER = 'x-echo-status';
export const DELAY_HEADER = 'x-echo-delay-ms';
/** Any value: the connection (HTTP/1.1) or stream (HTTP/2) is reset instead of answered. */
export const RESET_HEADER = 'x-echo-reset';

export type EchoAction =
  | { readonly kind: 'reply'; readonly status: number; readonly delayMs: number }
  | { readonly kind: 'reset'; readonly delayMs: number }
  | { readonly kind: 'bad-request'; readonly reason: string };

type Headers = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * What to do with the `served`-th request (counting from 1) given the server's behaviour
 * and the request's headers (lower-case names).
 */
export function decide(behaviour: EchoBehaviour, served: number, headers: Headers): EchoAction {
  const status = integerHeader(headers, STATUS_HEADER, 100, 599);
  if (!status.ok) return { kind: 'bad-request', reason: status.reason };
  const delay = integerHeader(headers, DELAY_HEADER, 0, 600_000);
  if (!delay.ok) return { kind: 'bad-request', reason: delay.reason };
  const delayMs = delay.value ?? behaviour.delayMs;
  if (headers[RESET_HEADER] !== undefined) return { kind: 'reset', delayMs };
  const failing = behaviour.failEvery > 0 && served % behaviour.failEvery === 0;
  return {
    kind: 'reply',
    status: status.value ?? (failing ? behaviour.failStatus : behaviour.status),
    delayMs,
  };
}

type Parsed = { ok: true; value: number | undefined } | { ok: false; reason: string };

/** The header as an integer in [min, max]; undefined when absent. */
function integerHeader(headers: Headers, name: string, min: number, max: number): Parsed {
  const raw = headers[name];
  if (raw === undefined) return { ok: true, value: undefined };
  const text = (typeof raw === 'string' ? raw : raw.join(',')).trim();
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) {
    return {
      ok: false,
      reason: `${name}: ${JSON.stringify(text)} is not an integer from ${min} to ${max}`,
    };
  }
  return { ok: true, value };
}
