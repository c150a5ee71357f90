import { closeSync } from 'node:fs';
import { isIPv6, type Socket } from 'node:net';
import { bindTransparent, connectFd, setMark, socketInNetns } from '../../core/net/socket.js';
import { MeshError } from '../../core/errors.js';
import { TUNNEL_MARK } from '../marks.js';
import type { EnrolledPod } from './pod.js';

/** Like Istio's ztunnel: a peer that does not accept within this long is unreachable. */
export const CONNECT_TIMEOUT_MS = 10_000;

export class ConnectTimeoutError extends MeshError {
  readonly code = 'AMBIT_CONNECT_TIMEOUT';
  constructor(readonly target: string) {
    super(`connect to ${target} timed out after ${CONNECT_TIMEOUT_MS} ms`);
  }
}

/**
 * Opens a TCP connection from inside a pod's network namespace, marked so the capture rules
 * let it pass. With `source`, the socket is bound transparently to that address, so the app
 * sees the original client rather than the tunnel (the in-pod rules route the replies back).
 */
export function connectFromPod(
  pod: EnrolledPod,
  to: { address: string; port: number },
  source?: string,
): Socket {
  const fd = socketInNetns(pod.netns, isIPv6(to.address) ? 6 : 4);
  try {
    setMark(fd, TUNNEL_MARK);
    if (source !== undefined) bindTransparent(fd, source, 0);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  const socket = connectFd(fd, to);
  // One timer per connection, gone once connected: a blackholed peer fails like a refusal.
  const timer = setTimeout(
    () => socket.destroy(new ConnectTimeoutError(`${to.address}:${to.port}`)),
    CONNECT_TIMEOUT_MS,
  );
  socket.once('connect', () => clearTimeout(timer));
  socket.once('close', () => clearTimeout(timer));
  return socket;
}

/**
 * Calls exactly one of `connected` or `failed` for a connecting socket. Errors after the
 * connect belong to whoever carries the connection from then on.
 */
export function onConnectOutcome(
  socket: Socket,
  connected: () => void,
  failed: (err: Error) => void,
): void {
  socket.once('error', failed);
  socket.once('connect', () => {
    socket.off('error', failed);
    connected();
  });
}
