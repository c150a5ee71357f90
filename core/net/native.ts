import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeAddonMissingError, NativeCallError } from './errors.js';

/** What core/net/native/ambit_net.c exports. Families are 4 or 6; errno values positive. */
export interface NativeAddon {
  socketInNetns(netnsFd: number, family: number): number;
  listenInNetns(
    netnsFd: number,
    family: number,
    address: string,
    port: number,
    backlog: number,
    /** 1: IPV6_V6ONLY on an IPv6 listener. */
    v6only: number,
  ): number;
  originalDst(fd: number): { address: string; port: number; family: 4 | 6 };
  setMark(fd: number, mark: number): void;
  bindTransparent(fd: number, address: string, port: number): void;
  seqpacketListen(path: string): number;
  seqpacketConnect(path: string): number;
  seqpacketSend(fd: number, data: Uint8Array, fds: readonly number[]): void;
  /** Watches `fd`; the addon closes it in pollClose. */
  pollStart(
    fd: number,
    listening: boolean,
    onEvent: (kind: PollEvent, a: unknown, b: unknown) => void,
  ): PollHandle;
  pollClose(handle: PollHandle): void;
}

/** What a poll handle reports (the numbers are the addon's `enum event_kind`). */
export const PollEvent = {
  /** a: the accepted fd */
  Connection: 0,
  /** a: Buffer, b: the received fds */
  Message: 1,
  /** the peer hung up */
  End: 2,
  /** a: the error; the handle has stopped and must be closed */
  Error: 3,
} as const;
export type PollEvent = (typeof PollEvent)[keyof typeof PollEvent];

export type PollHandle = { readonly brand: 'PollHandle' };

/** Where the build puts the addon, relative to the repository root. */
const ADDON = 'core/net/native/build/Release/ambit_net.node';

let addon: NativeAddon | undefined;

/** The addon, loaded on first use so that importing core/net costs nothing until then. */
export function native(): NativeAddon {
  addon ??= load();
  return addon;
}

function load(): NativeAddon {
  // This module runs compiled from dist/core/net/ (or dist-<name>/…), while the addon is
  // built in the source tree: look for it in each directory up from here.
  const here = dirname(fileURLToPath(import.meta.url));
  const path = findUp(here, ADDON);
  if (path === undefined)
    throw new NativeAddonMissingError(`${ADDON}, searched upward from ${here}`);
  try {
    return createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new NativeAddonMissingError(path, { cause: err });
  }
}

function findUp(from: string, relative: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Runs an addon call, turning the Error it throws for a failed Linux call (with `syscall`
 * and `errno`) into a NativeCallError about `subject`. Argument TypeErrors pass unchanged.
 */
export function call<T>(subject: string, fn: (addon: NativeAddon) => T): T {
  const loaded = native();
  try {
    return fn(loaded);
  } catch (err) {
    throw toNativeCallError(err, subject);
  }
}

export function toNativeCallError(err: unknown, subject: string): unknown {
  if (err instanceof Error && 'syscall' in err && 'errno' in err) {
    const { syscall, errno } = err as { syscall: unknown; errno: unknown };
    if (typeof syscall === 'string' && typeof errno === 'number')
      return new NativeCallError(syscall, errno, subject, { cause: err });
  }
  return err;
}
