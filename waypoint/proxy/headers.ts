/** Header values as Node's HTTP code reads and writes them. */
export type HeaderMap = Record<string, string | string[] | undefined>;

/**
 * Headers that describe one connection, not the message (RFC 9110 §7.6.1), plus HTTP/2's
 * upgrade token; a proxy never forwards them, and HTTP/2 forbids them outright.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
]);

/**
 * The end-to-end headers of a message: lower-case names, without hop-by-hop headers, those
 * the `connection` header names, HTTP/2 pseudo-headers, and `host` (the proxy sets the
 * authority itself). Takes Node's `headersDistinct` or HTTP/2's headers.
 */
export function endToEndHeaders(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
): HeaderMap {
  const named = connectionTokens(headers.connection);
  const result: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || name === 'host') continue;
    if (HOP_BY_HOP.has(name) || named.has(name)) continue;
    // One value stays a string; a repeated header stays a list, which matching joins as
    // Envoy does and which goes upstream as separate lines.
    result[name] = typeof value === 'string' ? value : value.length === 1 ? value[0] : [...value];
  }
  return result;
}

function connectionTokens(value: string | readonly string[] | undefined): Set<string> {
  if (value === undefined) return new Set();
  const text = typeof value === 'string' ? value : value.join(',');
  return new Set(
    text
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
}

/** A copy whose lists are copies too, so operations on it leave the original alone. */
export function copyHeaders(headers: Readonly<HeaderMap>): HeaderMap {
  const result: HeaderMap = {};
  for (const [name, value] of Object.entries(headers))
    result[name] = Array.isArray(value) ? [...value] : value;
  return result;
}
