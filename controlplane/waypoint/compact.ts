/**
 * Drops the properties whose value is undefined, so compiled config is the same object (and
 * the same JSON bytes) however an optional field came to be absent.
 */
export function compact<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = item;
  return out as T;
}
