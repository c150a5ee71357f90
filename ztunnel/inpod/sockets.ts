import { closeSync } from 'node:fs';
import { isIPv6, type Socket } from 'node:net';
import { bindTransparent, connectFd, setMark, socketInNetns } from '../../core/net/socket.js';
import { TUNNEL_MARK } from '../marks.js';
import type { EnrolledPod } from './pod.js';

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
  return connectFd(fd, to);
}
