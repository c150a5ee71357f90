import { EventEmitter } from 'node:events';
import { closeSync, lstatSync, unlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { NativeCallError } from './errors.js';
import { PollEvent, call, native, toNativeCallError, type PollHandle } from './native.js';

// AF_UNIX SOCK_SEQPACKET sockets with fd passing (SCM_RIGHTS): how the node agent hands pod
// network namespaces to ztunnel (Istio's zds protocol). Node has no SEQPACKET, so the addon
// makes the sockets and watches them with a uv_poll on the event loop.

/** Largest message either side sends or accepts, in bytes. */
export const MAX_MESSAGE_BYTES = 65536;
/** Most fds one message carries. */
export const MAX_MESSAGE_FDS = 16;

/** How long connect() retries while the listener's backlog is full. */
const CONNECT_TIMEOUT_MS = 5000;
const CONNECT_RETRY_MS = 10;

type PollCallback = (kind: PollEvent, a: unknown, b: unknown) => void;

/** Starts watching `fd`; if that fails the fd is closed, so it never leaks. */
function watch(fd: number, listening: boolean, subject: string, onEvent: PollCallback): PollHandle {
  try {
    return call(subject, (addon) => addon.pollStart(fd, listening, onEvent));
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** One end of a SEQPACKET connection. Events: 'message' (data, fds), 'close', 'error'. */
export class SeqpacketSocket extends EventEmitter<{
  message: [data: Buffer, fds: number[]];
  close: [];
  error: [err: Error];
}> {
  readonly #fd: number;
  readonly #subject: string;
  #handle: PollHandle | undefined;

  private constructor(fd: number, subject: string) {
    super();
    this.#fd = fd;
    this.#subject = subject;
    this.#handle = watch(fd, false, subject, (kind, a, b) => this.#onEvent(kind, a, b));
  }

  /**
   * Connects to a SeqpacketServer at `path`. Messages are read from the moment the promise
   * resolves: add the 'message' listener right away.
   */
  static async connect(path: string): Promise<SeqpacketSocket> {
    const deadline = performance.now() + CONNECT_TIMEOUT_MS;
    for (;;) {
      try {
        return SeqpacketSocket.adopt(
          call(path, (addon) => addon.seqpacketConnect(path)),
          path,
        );
      } catch (err) {
        // A unix listener with a full backlog refuses at once with EAGAIN instead of
        // letting the connect wait; try again shortly.
        const full = err instanceof NativeCallError && err.errnoName === 'EAGAIN';
        if (!full || performance.now() > deadline) throw err;
        await sleep(CONNECT_RETRY_MS);
      }
    }
  }

  /** Takes ownership of a connected SEQPACKET fd; `path` names the socket in errors. */
  static adopt(fd: number, path: string): SeqpacketSocket {
    return new SeqpacketSocket(fd, path);
  }

  /**
   * Sends one message (1 to 64 KiB) with up to 16 fds. The kernel duplicates the fds into
   * the receiver; the caller keeps and closes its own. Never blocks: a peer that is not
   * reading makes it throw EAGAIN, a peer that is gone EPIPE.
   */
  send(data: Uint8Array, fds: readonly number[] = []): void {
    // An empty message would read as the peer's hang-up on the other side.
    if (data.length === 0 || data.length > MAX_MESSAGE_BYTES)
      throw new RangeError(
        `a SEQPACKET message is 1 to ${MAX_MESSAGE_BYTES} bytes, not ${data.length}`,
      );
    if (fds.length > MAX_MESSAGE_FDS)
      throw new RangeError(
        `a SEQPACKET message carries at most ${MAX_MESSAGE_FDS} fds, not ${fds.length}`,
      );
    if (this.#handle === undefined)
      throw new NativeCallError('sendmsg', constants.errno.EBADF, `closed ${this.#subject}`);
    const fd = this.#fd;
    call(this.#subject, (addon) => addon.seqpacketSend(fd, data, fds));
  }

  /** Closes the socket (once; later calls do nothing) and emits 'close'. */
  close(): void {
    if (this.#release()) this.emit('close');
  }

  #release(): boolean {
    if (this.#handle === undefined) return false;
    native().pollClose(this.#handle);
    this.#handle = undefined;
    return true;
  }

  #onEvent(kind: PollEvent, a: unknown, b: unknown): void {
    switch (kind) {
      case PollEvent.Message: {
        const fds = b as number[];
        // Nobody to hand the fds to: close them rather than leak them.
        if (this.listenerCount('message') === 0) for (const fd of fds) closeSync(fd);
        else this.emit('message', a as Buffer, fds);
        return;
      }
      case PollEvent.End:
        this.close();
        return;
      case PollEvent.Error:
        this.#release();
        emitErrorThenClose(this, toNativeCallError(a, this.#subject));
        return;
    }
  }
}

/** A SEQPACKET listener. Events: 'connection' (SeqpacketSocket), 'close', 'error'. */
export class SeqpacketServer extends EventEmitter<{
  connection: [socket: SeqpacketSocket];
  close: [];
  error: [err: Error];
}> {
  #handle: PollHandle | undefined;

  private constructor(
    readonly path: string,
    fd: number,
  ) {
    super();
    this.#handle = watch(fd, true, path, (kind, a) => this.#onEvent(kind, a));
  }

  /**
   * Listens on `path`. A socket file left by a process that is gone is removed first; one
   * a live server still answers on is not (EADDRINUSE).
   */
  static listen(path: string): SeqpacketServer {
    removeStaleSocket(path);
    return new SeqpacketServer(
      path,
      call(path, (addon) => addon.seqpacketListen(path)),
    );
  }

  /** Stops listening and removes the socket file; accepted sockets stay open. */
  close(): void {
    if (this.#release()) this.emit('close');
  }

  #release(): boolean {
    if (this.#handle === undefined) return false;
    native().pollClose(this.#handle);
    this.#handle = undefined;
    try {
      unlinkSync(this.path);
    } catch {
      // Already removed by someone else: nothing left to clean.
    }
    return true;
  }

  #onEvent(kind: PollEvent, a: unknown): void {
    if (kind === PollEvent.Connection)
      this.emit('connection', SeqpacketSocket.adopt(a as number, this.path));
    else if (kind === PollEvent.Error) {
      this.#release();
      emitErrorThenClose(this, toNativeCallError(a, this.path));
    }
  }
}

/** 'error' before 'close', as net sockets do; 'close' even when nobody handles 'error'. */
function emitErrorThenClose(target: SeqpacketSocket | SeqpacketServer, err: unknown): void {
  try {
    target.emit('error', err instanceof Error ? err : new Error(String(err)));
  } finally {
    target.emit('close');
  }
}

function removeStaleSocket(path: string): void {
  try {
    if (!lstatSync(path).isSocket()) return; // bind will refuse it with EADDRINUSE
  } catch {
    return; // nothing there
  }
  let probe: number;
  try {
    probe = native().seqpacketConnect(path);
  } catch {
    unlinkSync(path); // nobody answers: left over from a process that is gone
    return;
  }
  closeSync(probe);
  throw new NativeCallError(
    'bind',
    constants.errno.EADDRINUSE,
    `${path} (a server is listening there)`,
  );
}
