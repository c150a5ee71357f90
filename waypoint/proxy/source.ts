import { isIP } from 'node:net';
import type { HboneRequest } from '../../core/hbone/server.js';

/**
 * The source workload's IP for a tunnel: the first `for=` of its `forwarded` header (the
 * sender's node tunnel names the pod it carries for), else the tunnel's peer address, which
 * is the pod's own when its node tunnel dials from inside the pod's network namespace.
 */
export function sourceAddressOf(request: Pick<HboneRequest, 'headers' | 'peerAddress'>): string {
  const forwarded = request.headers.forwarded;
  const named = forwarded === undefined ? undefined : forwardedFor(forwarded);
  return canonical(named ?? request.peerAddress);
}

/** RFC 7239 `for=` of the first element: quoted or not, IPv6 bracketed, a port dropped. */
export function forwardedFor(header: string): string | undefined {
  const first = header.split(',')[0] ?? '';
  for (const pair of first.split(';')) {
    const equals = pair.indexOf('=');
    if (equals < 0 || pair.slice(0, equals).trim().toLowerCase() !== 'for') continue;
    let node = pair.slice(equals + 1).trim();
    if (node.startsWith('"') && node.endsWith('"')) node = node.slice(1, -1);
    if (node.startsWith('[')) node = node.slice(1, node.indexOf(']'));
    else if (node.split(':').length === 2) node = node.slice(0, node.indexOf(':'));
    return isIP(node) === 0 ? undefined : node;
  }
  return undefined;
}

/** An IPv4 address reached over a dual-stack socket reads `::ffff:a.b.c.d`; routes name `a.b.c.d`. */
function canonical(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
