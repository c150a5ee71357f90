import { constants } from 'node:os';
import net from 'node:net';
import { NativeCallError } from './errors.js';
import { call } from './native.js';

// TCP sockets for the node tunnel: made inside a pod's network namespace, marked so the
// capture rules let them through, bound to a foreign source address, and asked where a
// redirected connection was going. All calls are synchronous; failures throw NativeCallError.

export type IpFamily = 4 | 6;

export interface SocketAddress {
  address: string;
  port: number;
  family: IpFamily;
}

/** Node's default listen backlog. */
const DEFAULT_BACKLOG = 511;

/**
 * A nonblocking, close-on-exec TCP socket made inside the network namespace `netnsFd`
 * (setns → socket → setns back, in one call on this thread). Unbound and unconnected; the
 * caller owns the fd (connectFd adopts it).
 */
export function socketInNetns(netnsFd: number, family: IpFamily): number {
  return call(`netns fd ${netnsFd}`, (addon) => addon.socketInNetns(netnsFd, family));
}

/**
 * socketInNetns + SO_REUSEADDR + bind + listen. Returns the listening fd, for
 * `net.createServer().listen({ fd })`. On `::` the listener takes IPv4 too (as mapped
 * addresses) unless `ipv6Only`, which lets it share its port with a `0.0.0.0` listener.
 */
export function listenInNetns(
  netnsFd: number,
  options: { address: string; port: number; backlog?: number; ipv6Only?: boolean },
): number {
  const { address, port, backlog = DEFAULT_BACKLOG, ipv6Only = false } = options;
  return call(`${formatAddress(address, port)} in netns fd ${netnsFd}`, (addon) =>
    addon.listenInNetns(netnsFd, familyOf(address), address, port, backlog, ipv6Only ? 1 : 0),
  );
}

/**
 * Where an accepted connection was headed before the capture rules redirected it
 * (SO_ORIGINAL_DST, or IP6T_SO_ORIGINAL_DST on an IPv6 socket).
 */
export function originalDst(fd: number): SocketAddress {
  return call(`socket fd ${fd}`, (addon) => addon.originalDst(fd));
}

/** SO_MARK: the packets of this socket carry `mark` (needs CAP_NET_ADMIN). */
export function setMark(fd: number, mark: number): void {
  call(`socket fd ${fd}`, (addon) => addon.setMark(fd, mark));
}

/**
 * Binds an unconnected socket to `address`, which need not belong to this host
 * (IP_TRANSPARENT + IP_FREEBIND, or the IPv6 options): the app then sees the original
 * client's address. The address family must be the socket's. Port 0 picks a free port.
 */
export function bindTransparent(fd: number, address: string, port = 0): void {
  call(`socket fd ${fd} binding ${formatAddress(address, port)}`, (addon) =>
    addon.bindTransparent(fd, address, port),
  );
}

/**
 * Adopts an unconnected TCP fd (from socketInNetns, maybe marked and bound) into a
 * net.Socket and starts a nonblocking connect: 'connect' on success, 'error' (e.g.
 * ECONNREFUSED) otherwise, as for net.connect. The socket owns the fd from here on.
 */
export function connectFd(fd: number, to: { address: string; port: number }): net.Socket {
  // Node reuses the handle it opened on `fd` when connect() is called on the socket.
  // allowHalfOpen: the mesh forwards a peer's half-close instead of ending both directions.
  // noDelay: a proxy passes each write on as it comes, as Istio's ztunnel does; Nagle would
  // hold a small reply (or an HTTP/2 frame behind another) until the peer's ACK.
  return new net.Socket({ fd, allowHalfOpen: true })
    .setNoDelay(true)
    .connect({ host: to.address, port: to.port });
}

/** The fd behind an open net.Socket or listening net.Server. */
export function socketFd(socket: net.Socket | net.Server): number {
  // Node keeps the libuv handle in `_handle`; its `fd` getter is the descriptor on Linux.
  const handle = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0)
    throw new NativeCallError('fd', constants.errno.EBADF, 'a socket without an open handle');
  return fd;
}

function familyOf(address: string): IpFamily {
  return net.isIPv6(address) ? 6 : 4;
}

function formatAddress(address: string, port: number): string {
  return familyOf(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}
