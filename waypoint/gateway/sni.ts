/**
 * The server name (SNI) of a TLS ClientHello, read without terminating TLS (RFC 8446 §4.1.2,
 * RFC 6066 §3): what a gateway needs to pick a server's certificate, or to pass a connection
 * through by name. The ClientHello may span several records; at most MAX_CLIENT_HELLO bytes
 * are looked at.
 */

/** Larger ClientHellos exist (post-quantum key shares) but stay well under this. */
export const MAX_CLIENT_HELLO = 16 * 1024;

const RECORD_HANDSHAKE = 0x16;
const HANDSHAKE_CLIENT_HELLO = 0x01;
const EXTENSION_SERVER_NAME = 0x0000;
const NAME_TYPE_HOST = 0x00;

export type ClientHelloResult =
  /** A whole ClientHello; `serverName` absent when it sent none. */
  | { readonly kind: 'hello'; readonly serverName?: string }
  /** More bytes are needed. */
  | { readonly kind: 'incomplete' }
  /** Not a TLS ClientHello (or a malformed one). */
  | { readonly kind: 'invalid'; readonly reason: string };

const INCOMPLETE: ClientHelloResult = { kind: 'incomplete' };

function invalid(reason: string): ClientHelloResult {
  return { kind: 'invalid', reason };
}

/** The handshake bytes carried by the leading handshake records of `data`, as far as they go. */
function handshakeBytes(data: Buffer): Buffer | ClientHelloResult {
  const fragments: Buffer[] = [];
  let offset = 0;
  while (offset + 5 <= data.length) {
    if (data[offset] !== RECORD_HANDSHAKE) return invalid('not a TLS handshake record');
    if (data[offset + 1] !== 0x03) return invalid('not a TLS record version');
    const length = data.readUInt16BE(offset + 3);
    const end = Math.min(offset + 5 + length, data.length);
    fragments.push(data.subarray(offset + 5, end));
    offset += 5 + length;
  }
  if (fragments.length === 0)
    return data.length > 0 && data[0] !== RECORD_HANDSHAKE
      ? invalid('not a TLS handshake record')
      : INCOMPLETE;
  return Buffer.concat(fragments);
}

/** Parses the ClientHello at the start of `data` (the first bytes a client sent). */
export function parseClientHello(data: Buffer): ClientHelloResult {
  const handshake = handshakeBytes(data);
  if (!Buffer.isBuffer(handshake)) return handshake;
  if (handshake.length < 4) return INCOMPLETE;
  if (handshake[0] !== HANDSHAKE_CLIENT_HELLO)
    return invalid('first handshake message is not a ClientHello');
  const length = handshake.readUIntBE(1, 3);
  if (length + 4 > MAX_CLIENT_HELLO) return invalid('ClientHello too large');
  if (handshake.length < length + 4) return INCOMPLETE;
  const hello = handshake.subarray(4, 4 + length);
  // legacy_version (2) and random (32), then the variable-length fields.
  let at = 34;
  const skip = (lengthBytes: number): boolean => {
    if (at + lengthBytes > hello.length) return false;
    const n = hello.readUIntBE(at, lengthBytes);
    at += lengthBytes + n;
    return at <= hello.length;
  };
  if (!skip(1) || !skip(2) || !skip(1)) return invalid('truncated ClientHello');
  if (at === hello.length) return { kind: 'hello' };
  if (at + 2 > hello.length) return invalid('truncated extensions');
  const extensionsEnd = at + 2 + hello.readUInt16BE(at);
  if (extensionsEnd > hello.length) return invalid('truncated extensions');
  at += 2;
  while (at + 4 <= extensionsEnd) {
    const type = hello.readUInt16BE(at);
    const size = hello.readUInt16BE(at + 2);
    const body = hello.subarray(at + 4, at + 4 + size);
    at += 4 + size;
    if (type !== EXTENSION_SERVER_NAME) continue;
    if (body.length < 2) return invalid('malformed server_name');
    const listEnd = Math.min(2 + body.readUInt16BE(0), body.length);
    let p = 2;
    while (p + 3 <= listEnd) {
      const nameType = body[p];
      const nameLength = body.readUInt16BE(p + 1);
      if (p + 3 + nameLength > listEnd) return invalid('malformed server_name');
      if (nameType === NAME_TYPE_HOST) {
        // Host names are compared without case (RFC 6066: ASCII, no trailing dot).
        return {
          kind: 'hello',
          serverName: body.toString('ascii', p + 3, p + 3 + nameLength).toLowerCase(),
        };
      }
      p += 3 + nameLength;
    }
    return { kind: 'hello' };
  }
  return { kind: 'hello' };
}
