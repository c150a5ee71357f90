import type { HeaderOperations } from '../../api/waypoint/config.js';

/** Istio emits each map's entries sorted by name (route.go translateAppendHeaders). */
function sortedEntries(map: Readonly<Record<string, string>> | undefined): [string, string][] {
  if (map === undefined) return [];
  return Object.entries(map)
    .map(([name, value]): [string, string] => [name.toLowerCase(), value])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Applies Istio header operations to `headers` (lower-case names) in place, in Envoy's
 * order: `remove` first ("remove-before-add", header_parser.cc), then `set` (replace), then
 * `add` (append: a second value makes the header multi-valued), each sorted by name as
 * Istio emits them. Names are case-insensitive. An empty value is not written (Envoy
 * skips empty values unless `keep_empty_value`).
 *
 * Compiled operations never name a pseudo-header or `host`: the control plane drops those
 * as Istio does and carries a `:authority`/`host` setting as `Rewrite.authority` or
 * `RouteDestination.authority` instead.
 */
export function applyHeaderOperations(
  headers: Record<string, string | string[] | undefined>,
  ops: HeaderOperations | undefined,
): void {
  if (ops === undefined) return;
  for (const name of ops.remove ?? []) delete headers[name.toLowerCase()];
  for (const [name, value] of sortedEntries(ops.set)) {
    if (value !== '') headers[name] = value;
  }
  for (const [name, value] of sortedEntries(ops.add)) {
    if (value === '') continue;
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (typeof existing === 'string') headers[name] = [existing, value];
    else existing.push(value);
  }
}
