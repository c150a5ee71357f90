import { isIP } from 'node:net';

/**
 * Protobuf JSON writes `bytes` as base64, which hides the IP addresses that Address and
 * Authorization resources carry as raw bytes. For people (and diffable test output) this
 * rewrites every `address`/`addresses` string holding exactly 4 or 16 bytes as an IP.
 * In istio.workload and istio.security those two field names are only ever IP bytes.
 */
export function readableAddresses(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(readableAddresses);
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (key === 'address' && typeof field === 'string') out[key] = ipFromBase64(field);
    else if (key === 'addresses' && Array.isArray(field)) {
      out[key] = field.map((a) => (typeof a === 'string' ? ipFromBase64(a) : readableAddresses(a)));
    } else out[key] = readableAddresses(field);
  }
  return out;
}

function ipFromBase64(text: string): string {
  if (isIP(text)) return text;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length === 4) return [...bytes].join('.');
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
    // Let the URL parser produce the canonical compressed form.
    return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
  }
  return text;
}
