import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

// productpage's sign-in: a session cookie holding the user name, signed so that a client
// cannot pose as someone else by editing it (Flask's signed `session` cookie in Istio's
// productpage). There is no password check, as in the sample.

export const SESSION_COOKIE = 'session';

export interface SessionCookies {
  /** The cookie value that says `user` is signed in. */
  seal(user: string): string;
  /** The user a cookie value names, when its signature holds. */
  open(value: string): string | undefined;
}

/** Signs with `secret`; a random one per server unless given (replicas must share one). */
export function sessionCookies(secret: string | Buffer = randomBytes(32)): SessionCookies {
  const sign = (payload: string) =>
    createHmac('sha256', secret).update(payload).digest('base64url');
  return {
    seal(user) {
      const payload = Buffer.from(user, 'utf8').toString('base64url');
      return `${payload}.${sign(payload)}`;
    },
    open(value) {
      const [payload, signature, ...rest] = value.split('.');
      if (payload === undefined || signature === undefined || rest.length > 0) return undefined;
      const expected = Buffer.from(sign(payload));
      const given = Buffer.from(signature);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      return Buffer.from(payload, 'base64url').toString('utf8');
    },
  };
}

/** One cookie's value from a `Cookie` header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const at = pair.indexOf('=');
    if (at > 0 && pair.slice(0, at).trim() === name) return pair.slice(at + 1).trim();
  }
  return undefined;
}
