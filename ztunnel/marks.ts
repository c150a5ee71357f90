/**
 * The mark on every socket the node tunnel makes inside a pod's network namespace, so that
 * the capture rules let it through instead of redirecting it back (DESIGN.md §1 capture
 * rules).
 */
export const TUNNEL_MARK = 0x539;

/** Ports of the tunnel's own listeners inside a pod; a tunnel must never target them. */
export const OUTBOUND_PORT = 15001;
export const INBOUND_PLAINTEXT_PORT = 15006;
export const INBOUND_HBONE_PORT = 15008;
export const DNS_PORT = 15053;
