/**
 * XXH64 with seed 0, the hash Envoy's `HashUtil::xxHash64` computes: its ring hash places
 * hosts with it and its hash policies (header, cookie, source IP, query parameter) hash
 * request values with it, so the same key lands where Envoy would put it.
 */
const MASK = 0xffffffffffffffffn;
const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;

const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & MASK;

function round(acc: bigint, lane: bigint): bigint {
  return (rotl((acc + lane * P2) & MASK, 31n) * P1) & MASK;
}

function mergeRound(acc: bigint, lane: bigint): bigint {
  return (((acc ^ round(0n, lane)) * P1) & MASK) + P4;
}

/** The 64-bit hash of the UTF-8 bytes of `input`. */
export function xxHash64(input: string): bigint {
  const bytes = Buffer.from(input, 'utf8');
  const length = bytes.length;
  let offset = 0;
  let h: bigint;
  if (length >= 32) {
    let v1 = (P1 + P2) & MASK;
    let v2 = P2;
    let v3 = 0n;
    let v4 = (MASK + 1n - P1) & MASK;
    for (; offset + 32 <= length; offset += 32) {
      v1 = round(v1, bytes.readBigUInt64LE(offset));
      v2 = round(v2, bytes.readBigUInt64LE(offset + 8));
      v3 = round(v3, bytes.readBigUInt64LE(offset + 16));
      v4 = round(v4, bytes.readBigUInt64LE(offset + 24));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & MASK;
    h = mergeRound(h, v1) & MASK;
    h = mergeRound(h, v2) & MASK;
    h = mergeRound(h, v3) & MASK;
    h = mergeRound(h, v4) & MASK;
  } else {
    h = P5;
  }
  h = (h + BigInt(length)) & MASK;
  for (; offset + 8 <= length; offset += 8) {
    h ^= round(0n, bytes.readBigUInt64LE(offset));
    h = ((rotl(h, 27n) * P1) & MASK) + P4;
    h &= MASK;
  }
  if (offset + 4 <= length) {
    h ^= (BigInt(bytes.readUInt32LE(offset)) * P1) & MASK;
    h = (((rotl(h, 23n) * P2) & MASK) + P3) & MASK;
    offset += 4;
  }
  for (; offset < length; offset++) {
    h ^= (BigInt(bytes[offset] as number) * P5) & MASK;
    h = (rotl(h, 11n) * P1) & MASK;
  }
  h ^= h >> 33n;
  h = (h * P2) & MASK;
  h ^= h >> 29n;
  h = (h * P3) & MASK;
  h ^= h >> 32n;
  return h;
}
