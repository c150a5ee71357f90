import { randomFillSync } from 'node:crypto';

// Trace and span ids from a pool of random bytes refilled in one call, so making ids costs
// no system call or buffer per request.

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

function randomHex(bytes: number): string {
  if (offset + bytes > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const id = pool.toString('hex', offset, offset + bytes);
  offset += bytes;
  // An all-zero id is invalid in both W3C and B3; it is 1 in 2^64 but costs one test.
  return /^0+$/.test(id) ? randomHex(bytes) : id;
}

/** 32 lower-case hex digits. */
export function newTraceId(): string {
  return randomHex(16);
}

/** 16 lower-case hex digits. */
export function newSpanId(): string {
  return randomHex(8);
}
