import http from 'node:http';
import { MeshError } from '../../core/errors.js';

// How one Bookinfo service calls another: a base URL per upstream (a Service's VIP and port
// where the mesh has no DNS, `http://reviews:9080` where it has), one GET with a deadline.

export type UpstreamName = 'details' | 'reviews' | 'ratings';

/** `http://host:port` with an optional path prefix, no trailing slash. */
export type BaseUrl = string & { readonly brand: 'BaseUrl' };

/** Where the services are in a cluster: Istio's defaults (`<name>:9080` in the namespace). */
export const DEFAULT_UPSTREAMS: Readonly<Record<UpstreamName, string>> = {
  details: 'http://details:9080',
  reviews: 'http://reviews:9080',
  ratings: 'http://ratings:9080',
};

export class UpstreamUrlError extends MeshError {
  readonly code = 'AMBIT_BOOKINFO_UPSTREAM_URL';
  constructor(
    readonly upstream: string,
    readonly text: string,
    options?: { cause?: unknown },
  ) {
    super(
      `upstream ${upstream}: ${JSON.stringify(text)} is not host:port or an http:// URL`,
      options,
    );
  }
}

/** Reads `host:port` or `http://host:port[/prefix]`. */
export function parseBaseUrl(upstream: string, text: string): BaseUrl {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (cause) {
    throw new UpstreamUrlError(upstream, text, { cause });
  }
  if (url.protocol !== 'http:' || url.search !== '' || url.hash !== '' || url.username !== '')
    throw new UpstreamUrlError(upstream, text);
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}` as BaseUrl;
}

/** Every upstream's base URL: the given ones, Istio's defaults for the rest. */
export function resolveUpstreams(
  given: Partial<Record<UpstreamName, string>> = {},
): Record<UpstreamName, BaseUrl> {
  const pick = (name: UpstreamName) => parseBaseUrl(name, given[name] ?? DEFAULT_UPSTREAMS[name]);
  return { details: pick('details'), reviews: pick('reviews'), ratings: pick('ratings') };
}

/** A call that got no answer: refused, reset, timed out, or given up by the caller. */
export class UpstreamCallError extends MeshError {
  readonly code = 'AMBIT_BOOKINFO_UPSTREAM_CALL';
  constructor(
    readonly url: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`GET ${url}: ${reason}`, options);
  }
}

export interface UpstreamAnswer {
  readonly status: number;
  readonly body: string;
}

export interface UpstreamCall {
  readonly headers: Readonly<Record<string, string>>;
  /**
   * The whole answer must be in by then, as the Istio samples' clients time out (requests'
   * read timeout, JAX-RS receive timeout): the request is abandoned and the call fails.
   */
  readonly timeoutMs: number;
  readonly agent: http.Agent;
  /** Abandons the call (the caller's own client went away). */
  readonly signal?: AbortSignal;
}

/** GET `url` and read the whole answer, whatever its status. */
export function getUpstream(url: string, call: UpstreamCall): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: call.headers, agent: call.agent }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('error', (cause) => request.destroy(cause));
      response.once('end', () => {
        finish();
        resolve({
          status: response.statusCode ?? 0,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
    });
    const timer = setTimeout(
      () => request.destroy(new UpstreamCallError(url, `no answer in ${call.timeoutMs} ms`)),
      call.timeoutMs,
    );
    const abandon = () => request.destroy(new UpstreamCallError(url, 'abandoned by the caller'));
    call.signal?.addEventListener('abort', abandon, { once: true });
    const finish = () => {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', abandon);
    };
    request.once('error', (cause) => {
      finish();
      reject(
        cause instanceof UpstreamCallError
          ? cause
          : new UpstreamCallError(url, cause.message, { cause }),
      );
    });
    if (call.signal?.aborted) abandon();
  });
}

/** A JSON object from an answer's body; undefined for anything else. */
export function jsonObject(body: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
