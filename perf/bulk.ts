import type net from 'node:net';
import { BenchmarkError } from './errors.js';
import type { Scope } from './scope.js';
import { runInNetns } from './tool.js';

/** One bulk stream as the receiver saw it. */
export interface BulkResult {
  bytes: number;
  /** From the first byte to the sender's end of stream. */
  ms: number;
  /** 10^6 bytes per second. */
  megabytesPerSecond: number;
}

const MiB = 1024 * 1024;
const ARRIVAL_MS = 30_000;

/**
 * The receiving end of bulk streams: counts bytes (no hashing, no copying: the benchmark
 * measures the path, not the receiver) and times each stream. One stream at a time.
 */
export class BulkSink {
  #pending: ((result: { bytes: number; ms: number }) => void) | undefined;

  /** Resolves with the next stream that ends. */
  next(): Promise<{ bytes: number; ms: number }> {
    return new Promise((resolve) => (this.#pending = resolve));
  }

  /** For `listenIn`: takes one accepted connection. */
  readonly accept = (socket: net.Socket): void => {
    let bytes = 0;
    let first = 0;
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: Buffer) => {
      if (bytes === 0) first = performance.now();
      bytes += chunk.length;
    });
    socket.once('end', () => {
      const ms = performance.now() - first;
      socket.end();
      this.#pending?.({ bytes, ms });
      this.#pending = undefined;
    });
  };
}

/**
 * Sends `mebibytes` MiB of zeros from inside `netns` to `to` with dd (1 MiB writes, at the
 * speed of the kernel: a JavaScript sender would measure itself) over bash's /dev/tcp, and
 * returns what `sink` received.
 */
export async function sendBulk(
  scope: Scope,
  sink: BulkSink,
  netns: string,
  to: { address: string; port: number },
  mebibytes: number,
): Promise<BulkResult> {
  const step = `bulk ${mebibytes} MiB to ${to.address}:${to.port}`;
  const received = sink.next();
  await runInNetns(scope, step, netns, [
    'bash',
    '-c',
    'exec 3>"/dev/tcp/$0/$1" && dd if=/dev/zero bs=1M count="$2" status=none >&3',
    to.address,
    String(to.port),
    String(mebibytes),
  ]);
  // dd is done once its last write is in the socket buffer; the rest arrives soon after.
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new BenchmarkError(step, `the stream did not end ${ARRIVAL_MS} ms after dd`)),
      ARRIVAL_MS,
    );
  });
  const { bytes, ms } = await Promise.race([received, late]).finally(() => clearTimeout(timer));
  if (bytes !== mebibytes * MiB)
    throw new BenchmarkError(step, `the receiver got ${bytes} bytes, not ${mebibytes * MiB}`);
  return { bytes, ms, megabytesPerSecond: bytes / 1e6 / (ms / 1000) };
}
