import type { Socket } from 'node:net';
import { MAX_CLIENT_HELLO, parseClientHello, type ClientHelloResult } from './sni.js';

/**
 * Reads a connection's ClientHello and puts the bytes back, so whatever takes the socket
 * next (a TLS server socket, or a pipe to the upstream) sees the stream from its start.
 * Resolves `invalid` on a client that sends something else, closes, or stalls past `timeoutMs`.
 */
export function readClientHello(socket: Socket, timeoutMs: number): Promise<ClientHelloResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: ClientHelloResult): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onEnd);
      socket.pause();
      if (size > 0) socket.unshift(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      size += chunk.length;
      const result = parseClientHello(chunks.length === 1 ? chunk : Buffer.concat(chunks));
      if (result.kind !== 'incomplete') finish(result);
      else if (size > MAX_CLIENT_HELLO)
        finish({ kind: 'invalid', reason: 'ClientHello too large' });
    };
    const onEnd = (): void =>
      finish({ kind: 'invalid', reason: 'connection ended before a ClientHello' });
    const timer = setTimeout(
      () => finish({ kind: 'invalid', reason: 'no ClientHello in time' }),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('error', onEnd);
  });
}
