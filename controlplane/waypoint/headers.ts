/**
 * Header operations as Istio translates them (route.go TranslateHeadersOperations):
 * pseudo-headers and `host` cannot be changed, except that setting (or adding) `:authority`
 * or `host` on a request rewrites the authority, `set` winning over `add`. Names are lower
 * case, as HTTP/2 writes them and the waypoint's requests carry them.
 */
import type { Headers } from '../../api/resources/index.js';
import type { HeaderOperations } from '../../api/waypoint/config.js';
import { compact } from './compact.js';

type HeaderMap = Readonly<Record<string, string>>;

function isAuthority(name: string): boolean {
  return name === ':authority' || name === 'host';
}

function isInternal(name: string): boolean {
  return name.startsWith(':') || name === 'host';
}

function values(map: HeaderMap | undefined): Record<string, string> | undefined {
  const entries = Object.entries(map ?? {})
    .map(([name, value]): [string, string] => [name.toLowerCase(), value])
    .filter(([name]) => !isInternal(name))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

function authorityIn(map: HeaderMap | undefined): string | undefined {
  let found: string | undefined;
  for (const [name, value] of Object.entries(map ?? {})) {
    if (isAuthority(name.toLowerCase())) found = value;
  }
  return found;
}

function operations(
  ops: { set?: HeaderMap; add?: HeaderMap; remove?: readonly string[] } | undefined,
): HeaderOperations | undefined {
  if (ops === undefined) return undefined;
  const remove = (ops.remove ?? []).map((n) => n.toLowerCase()).filter((n) => !isInternal(n));
  const out = compact({
    set: values(ops.set),
    add: values(ops.add),
    remove: remove.length > 0 ? remove : undefined,
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

export interface TranslatedHeaders {
  readonly operations?: {
    readonly request?: HeaderOperations;
    readonly response?: HeaderOperations;
  };
  /** The authority requests are rewritten to, from `:authority`/`host` in request set/add. */
  readonly authority?: string;
}

export function translateHeaders(headers: Headers | undefined): TranslatedHeaders {
  const request = operations(headers?.request);
  const response = operations(headers?.response);
  const both = compact({ request, response });
  return compact({
    operations: Object.keys(both).length > 0 ? both : undefined,
    authority: authorityIn(headers?.request?.set) ?? authorityIn(headers?.request?.add),
  });
}
