/**
 * The request as the router sees it: what the proxy parsed off the wire, before any rewrite.
 * The router never touches a socket; the proxy builds one of these per request.
 */
export interface RoutableRequest {
  /** Upper case. */
  readonly method: string;
  /** As received: path + '?' + query. */
  readonly path: string;
  /** Host / :authority. */
  readonly authority: string;
  /**
   * Lower-case names. A header sent more than once should arrive as an array (Node's
   * `headersDistinct`), so matching can join the values as Envoy does.
   */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The service port the request arrived on. */
  readonly port: number;
  /** The source workload's IP, in canonical text form. */
  readonly sourceAddress: string;
}

/** Where the query starts in `path`, or its length when there is none. */
function queryStart(path: string): number {
  const q = path.indexOf('?');
  return q < 0 ? path.length : q;
}

/** The path without its query string: Envoy matches and rewrites routes on this part. */
export function pathWithoutQuery(path: string): string {
  return path.slice(0, queryStart(path));
}

/** The query string with its leading '?', or '' when there is none. */
export function queryOf(path: string): string {
  return path.slice(queryStart(path));
}

/**
 * A header as Envoy's matchers read it: every value of the name joined with ','
 * (Envoy 1.12.7, CVE-2020-25017), `host` and `:authority` both naming the authority and
 * `:method` / `:path` the request line. Undefined when absent.
 */
export function headerValue(request: RoutableRequest, name: string): string | undefined {
  switch (name) {
    case ':authority':
    case 'host':
      return request.authority;
    case ':method':
      return request.method;
    case ':path':
      return request.path;
  }
  const value = request.headers[name];
  if (value === undefined || typeof value === 'string') return value;
  return value.length === 0 ? undefined : value.join(',');
}

/**
 * The first value of query parameter `name`, or undefined when it is absent; `?flag` has
 * the value ''. Names and values are compared as sent, not percent-decoded, and later
 * repeats are ignored: Envoy's route matcher parses with `parseQueryString` (no decoding)
 * and reads `getFirstValue`.
 */
export function queryParam(path: string, name: string): string | undefined {
  const query = queryOf(path);
  let start = 1;
  while (start < query.length) {
    let end = query.indexOf('&', start);
    if (end < 0) end = query.length;
    const eq = query.indexOf('=', start);
    const hasValue = eq >= 0 && eq < end;
    if (query.slice(start, hasValue ? eq : end) === name) {
      return hasValue ? query.slice(eq + 1, end) : '';
    }
    start = end + 1;
  }
  return undefined;
}
