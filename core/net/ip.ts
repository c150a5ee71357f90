import { isIPv4, isIPv6 } from 'node:net';

/**
 * IP addresses between the workload API's raw bytes (4 for IPv4, 16 for IPv6) and text.
 * Text is what the rest of the node tunnel compares (addresses from the kernel, authorities),
 * so every address is written one way: dotted IPv4, RFC 5952 IPv6 (lowercase, the longest run
 * of two or more zero groups shortened to `::`), as inet_ntop writes them.
 */

/** An address block: its address as text and the prefix length. */
export interface Cidr {
  readonly address: string;
  readonly length: number;
}

/** The text of a raw address, or undefined when it is neither 4 nor 16 bytes long. */
export function ipFromBytes(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return bytes.join('.');
  if (bytes.length !== 16) return undefined;
  if (isV4Mapped(bytes)) return `::ffff:${bytes.subarray(12).join('.')}`;
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  return formatGroups(groups);
}

/** The raw bytes of an IPv4 or IPv6 address in text, or undefined for anything else. */
export function parseIp(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let head = text;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    // A trailing dotted quad (::ffff:1.2.3.4) stands for the last two groups.
    tail = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left = '', right] = head.split('::');
  const words = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const leftWords = words(left);
  const rightWords = right === undefined ? [] : words(right);
  const zeros = new Array<number>(8 - leftWords.length - rightWords.length).fill(0);
  const bytes = new Uint8Array(16);
  [...leftWords, ...zeros, ...rightWords].forEach((word, i) => {
    bytes[i * 2] = word >> 8;
    bytes[i * 2 + 1] = word & 0xff;
  });
  if (tail.length === 4) bytes.set(tail, 12);
  return bytes;
}

/**
 * The canonical text of an address, or undefined when the text is not one. An IPv4-mapped
 * IPv6 address becomes plain IPv4, as ztunnel's to_canonical does for socket addresses: the
 * workload API holds a pod's IPv4 address as 4 bytes, whichever socket family saw it.
 */
export function canonicalIp(text: string): string | undefined {
  const bytes = parseIp(text);
  if (bytes === undefined) return undefined;
  return ipFromBytes(isV4Mapped(bytes) ? bytes.subarray(12) : bytes);
}

/** Canonical bytes (IPv4-mapped as IPv4), for matching connection addresses against blocks. */
export function canonicalIpBytes(text: string): Uint8Array | undefined {
  const bytes = parseIp(text);
  return bytes !== undefined && isV4Mapped(bytes) ? bytes.subarray(12) : bytes;
}

/** True when `ip` lies in the block; an IPv4 block never holds an IPv6 address and the reverse. */
export function cidrContains(cidr: Cidr, ip: Uint8Array): boolean {
  const network = parseIp(cidr.address);
  if (network === undefined || network.length !== ip.length) return false;
  const bits = Math.min(cidr.length, network.length * 8);
  const whole = Math.floor(bits / 8);
  for (let i = 0; i < whole; i++) if (network[i] !== ip[i]) return false;
  const rest = bits % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((network[whole] ?? 0) & mask) === ((ip[whole] ?? 0) & mask);
}

function isV4Mapped(bytes: Uint8Array): boolean {
  if (bytes.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return false;
  return bytes[10] === 0xff && bytes[11] === 0xff;
}

function formatGroups(groups: readonly number[]): string {
  // RFC 5952 §4.2: shorten the longest run of zero groups (the first of equals), never one alone.
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = (part: readonly number[]) => part.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}
