import { parseIp } from '../../core/net/ip.js';

/** An address or CIDR block: its (masked) first address and, for a block, its prefix length. */
export interface IpPrefix {
  readonly address: Uint8Array;
  /** Absent when the prefix is a single address (/32 or /128, or no slash at all). */
  readonly length: number | undefined;
}

export function ipPrefix(text: string): IpPrefix | undefined {
  const slash = text.indexOf('/');
  if (slash < 0) {
    const address = parseIp(text);
    return address === undefined ? undefined : { address, length: undefined };
  }
  const address = parseIp(text.slice(0, slash));
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
