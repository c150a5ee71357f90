/**
 * What a policy can ask about one request at the waypoint, gathered once per request by the
 * proxy. The peer is the tunnel's source (its certificate's SPIFFE id and the source
 * address); the waypoint trusts no forwarding hop, so `remote.ip` is the source too.
 */
import type { JwtIdentity } from '../authn/verify.js';

export interface PeerAttributes {
  /** `td/ns/x/sa/y` (the SPIFFE id without `spiffe://`); undefined when unknown. */
  readonly principal: string | undefined;
  readonly namespace: string | undefined;
  readonly trustDomain: string | undefined;
  /** Canonical bytes of the source address; undefined when unparsable. */
  readonly sourceIp: Uint8Array | undefined;
}

export interface RequestAttributes {
  readonly peer: PeerAttributes;
  /** Upper case. */
  readonly method: string;
  /** The normalized path, without the query. */
  readonly path: string;
  readonly authority: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The service VIP and port the request was addressed to. */
  readonly destinationIp: Uint8Array | undefined;
  readonly destinationPort: number;
  /** The verified JWT, when the request carried one. */
  readonly jwt: JwtIdentity | undefined;
}
