import type net from 'node:net';

/** RFC 9113 §3.4: what an HTTP/2 client with prior knowledge sends first. */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

/**
 * Tells HTTP/2 with prior knowledge (h2c) from HTTP/1.x by the first bytes of a connection,
 * then puts those bytes back so the server that takes the socket reads them again. A
 * connection that closes before saying enough is left alone.
 */
export function sniffProtocol(socket: net.Socket, done: (protocol: 'h2c' | 'http/1.1') => void) {
  let seen: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const compared = Math.min(seen.length, PREFACE.length);
    const h2c = seen.subarray(0, compared).equals(PREFACE.subarray(0, compared));
    // Every byte so far agrees with the preface but it is not complete yet: wait for more.
    if (h2c && seen.length < PREFACE.length) return;
    socket.off('data', onData);
    socket.pause();
    socket.unshift(seen);
    done(h2c ? 'h2c' : 'http/1.1');
    // The server attached its own readers; let the bytes flow to them.
    process.nextTick(() => socket.resume());
  };
  socket.on('data', onData);
}
