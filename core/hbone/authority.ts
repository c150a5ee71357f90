import { isIPv4, isIPv6 } from 'node:net';
import type { SocketAddress } from '../net/socket.js';

// An HBONE `:authority` names the destination as an IP and port, never a hostname: the
// sender has already resolved the service (DESIGN.md §1, HBONE row).
const PORT = /^[0-9]{1,5}$/;

/**
 * Parses `a.b.c.d:port` or `[v6]:port` (ports 1–65535); anything else, hostnames and IPv6
 * zone ids included, is undefined.
 */
export function parseAuthority(s: string): SocketAddress | undefined {
  const colon = s.lastIndexOf(':');
  if (colon < 0) return undefined;
  const host = s.slice(0, colon);
  const portText = s.slice(colon + 1);
  if (!PORT.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  if (host.startsWith('[') && host.endsWith(']')) {
    const address = host.slice(1, -1);
    // isIPv6 accepts a `%zone` suffix, which means nothing to the peer's node.
    if (!isIPv6(address) || address.includes('%')) return undefined;
    return { address, port, family: 6 };
  }
  if (!isIPv4(host)) return undefined;
  return { address: host, port, family: 4 };
}

/** The `:authority` for an address: `ip:port`, or `[ip]:port` for IPv6. */
export function formatAuthority(a: { address: string; port: number }): string {
  return isIPv6(a.address) ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
