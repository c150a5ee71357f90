/**
 * Request path normalization before policy and routing, after Istio's
 * `meshConfig.pathNormalization` (Envoy's `normalize_path`, `merge_slashes` and
 * `path_with_escaped_slashes_action`):
 * - NONE: the path as received;
 * - BASE (Istio's default): RFC 3986 §6.2.2 — percent-decode unreserved characters and
 *   remove `.` and `..` segments (a `..` above the root stays at the root);
 * - MERGE_SLASHES: BASE, then runs of `/` become one;
 * - DECODE_AND_MERGE_SLASHES (Ambit's default): first `%2F` and `%5C` (any case) become `/`
 *   (Envoy's UNESCAPE_AND_FORWARD; a backslash is a separator too), then MERGE_SLASHES.
 * So `//admin`, `/%2Fadmin`, `/./admin` and `/x/../admin` all become `/admin` and cannot slip
 * past a policy on `/admin`. Case is kept (paths are case-sensitive in Istio). The query is
 * kept as sent; a fragment is dropped (clients never send one; Envoy strips it).
 * Bad percent-encoding, or a path that does not start with `/`, is refused (400).
 */
export type PathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';

export const DEFAULT_PATH_NORMALIZATION: PathNormalization = 'DECODE_AND_MERGE_SLASHES';

export type NormalizedPath =
  | {
      readonly ok: true;
      /** Path and query: what routing reads and what goes upstream. */
      readonly full: string;
      /** The path alone: what policies match. */
      readonly path: string;
    }
  | { readonly ok: false; readonly reason: string };

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const HEX = /^[0-9A-Fa-f]{2}$/;

/** Percent-decodes unreserved characters (and slashes, when told); other escapes upper-cased. */
function decode(path: string, slashes: boolean): string | undefined {
  if (!path.includes('%')) return path;
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c !== '%') {
      out += c;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!HEX.test(hex)) return undefined;
    const byte = String.fromCharCode(parseInt(hex, 16));
    i += 2;
    if (UNRESERVED.test(byte)) out += byte;
    else if (slashes && (byte === '/' || byte === '\\')) out += '/';
    else out += `%${hex.toUpperCase()}`;
  }
  return out;
}

/** RFC 3986 §5.2.4 on an absolute path: `.` and `..` segments removed. */
function removeDotSegments(path: string): string {
  if (!path.includes('.')) return path;
  const segments = path.split('/');
  const out: string[] = [];
  // segments[0] is the empty string before the leading '/'.
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    if (segment === '.') {
      if (last) out.push('');
    } else if (segment === '..') {
      out.pop();
      if (last) out.push('');
    } else out.push(segment);
  }
  return `/${out.join('/')}`;
}

export function normalizePath(
  received: string,
  mode: PathNormalization = DEFAULT_PATH_NORMALIZATION,
): NormalizedPath {
  const hash = received.indexOf('#');
  const withQuery = hash < 0 ? received : received.slice(0, hash);
  const q = withQuery.indexOf('?');
  const raw = q < 0 ? withQuery : withQuery.slice(0, q);
  const query = q < 0 ? '' : withQuery.slice(q);
  if (!raw.startsWith('/')) return { ok: false, reason: 'the path does not start with /' };
  if (mode === 'NONE') return { ok: true, full: withQuery, path: raw };
  let path = decode(raw, mode === 'DECODE_AND_MERGE_SLASHES');
  if (path === undefined) return { ok: false, reason: 'bad percent-encoding in the path' };
  if (mode === 'DECODE_AND_MERGE_SLASHES') path = path.replaceAll('\\', '/');
  if (mode !== 'BASE') path = path.replace(/\/{2,}/g, '/');
  path = removeDotSegments(path);
  // Removing `a/..` out of `a//..` can leave two slashes behind; merge once more.
  if (mode !== 'BASE') path = path.replace(/\/{2,}/g, '/');
  return { ok: true, full: path + query, path };
}
