import type net from 'node:net';
import { BenchmarkError } from './errors.js';
import type { Scope } from './scope.js';
import { runInNetns } from './tool.js';

/** One bulk stream as its receiver (dd) timed it. */
export interface BulkResult {
  bytes: number;
  seconds: number;
  /** 10^6 bytes per second. */
  megabytesPerSecond: number;
}

const MiB = 1024 * 1024;

/**
 * The server end of bulk streams: every accepted connection gets `mebibytes` MiB of zeros
 * and an end of stream. One preallocated block written again and again, so the server
 * costs next to nothing per byte (measured here at over 5 GB/s on loopback).
 */
export function bulkSource(mebibytes: number): (socket: net.Socket) => void {
  const block = Buffer.alloc(MiB);
  return (socket) => {
    let sent = 0;
    const pump = (): void => {
      while (sent < mebibytes) {
        sent += 1;
        if (!socket.write(block)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    socket.on('error', () => socket.destroy());
    pump();
  };
}

/**
 * Connects from inside `netns` to a `bulkSource` at `to` and reads the stream with dd
 * (1 MiB reads into /dev/null, at the speed of the kernel: a JavaScript receiver measured
 * itself, at about half the path's speed), over bash's /dev/tcp. dd times the stream from
 * its first read to the end.
 */
export async function receiveBulk(
  scope: Scope,
  netns: string,
  to: { address: string; port: number },
  mebibytes: number,
): Promise<BulkResult> {
  const step = `bulk ${mebibytes} MiB from ${to.address}:${to.port}`;
  const output = await runInNetns(
    scope,
    step,
    netns,
    [
      'bash',
      '-c',
      'exec 3<>"/dev/tcp/$0/$1" && dd bs=1M of=/dev/null <&3',
      to.address,
      String(to.port),
    ],
    // dd's summary in a known format: "N bytes (…) copied, S s, …".
    { LC_ALL: 'C' },
  );
  const match = /^(\d+) bytes .* copied, ([\d.e+-]+) s/m.exec(output);
  if (!match) throw new BenchmarkError(step, `no transfer summary from dd:\n${output.trim()}`);
  const bytes = Number(match[1]);
  const seconds = Number(match[2]);
  if (bytes !== mebibytes * MiB)
    throw new BenchmarkError(step, `dd read ${bytes} bytes, not ${mebibytes * MiB}`);
  return { bytes, seconds, megabytesPerSecond: bytes / 1e6 / seconds };
}
