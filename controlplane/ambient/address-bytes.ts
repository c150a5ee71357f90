import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP addresses as the workload API carries them: raw bytes, 4 for IPv4 and 16 for IPv6
 * (Go's netip.Addr.AsSlice, so an IPv4-mapped IPv6 address stays 16 bytes).
 * Returns undefined for anything that is not an IP (a hostname, a unix socket path).
 */
export function ipBytes(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return new Uint8Array(text.split('.').map(Number));
  if (isIPv6(text)) return ipv6Bytes(text);
  return undefined;
}

function ipv6Bytes(text: string): Uint8Array {
  // A trailing dotted quad (::ffff:1.2.3.4) is two more hex words.
  let hex = text;
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const [a = 0, b = 0, c = 0, d = 0] = tail.split('.').map(Number);
    hex = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = hex.split('::');
  const headWords = head === '' ? [] : head.split(':');
  const restWords = rest === undefined || rest === '' ? [] : rest.split(':');
  const zeros = rest === undefined ? 0 : 8 - headWords.length - restWords.length;
  const words = [...headWords, ...Array<string>(zeros).fill('0'), ...restWords];
  const out = new Uint8Array(16);
  words.forEach((word, i) => {
    const value = parseInt(word, 16);
    out[i * 2] = value >> 8;
    out[i * 2 + 1] = value & 0xff;
  });
  return out;
}

/** An address or CIDR block: its (masked) first address and, for a block, its prefix length. */
export interface IpPrefix {
  readonly address: Uint8Array;
  /** Absent when the prefix is a single address (/32 or /128, or no slash at all). */
  readonly length: number | undefined;
}

export function ipPrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const address = ipBytes(text);
    return address === undefined ? undefined : { address, length: undefined };
  }
  const address = ipBytes(text.slice(0, slash));
  const bits = Number(text.slice(slash + 1));
  if (address === undefined || !Number.isInteger(bits) || bits < 0 || bits > address.length * 8) {
    return undefined;
  }
  for (let i = 0; i < address.length; i++) {
    const keep = Math.min(8, Math.max(0, bits - i * 8));
    address[i] = (address[i] ?? 0) & ((0xff << (8 - keep)) & 0xff);
  }
  return { address, length: bits === address.length * 8 ? undefined : bits };
}
