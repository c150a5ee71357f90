import type { Duplex } from 'node:stream';

/** What a tunnel carries, judged from its first bytes. */
export type DetectedProtocol = 'http1' | 'http2' | 'tcp';

/** The HTTP/2 connection preface of a client with prior knowledge (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Longest HTTP/1.x request line looked for; Node's own header limit is 16 KiB. */
const MAX_REQUEST_LINE = 16 * 1024;

const REQUEST_LINE = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [^\s]+ HTTP\/1\.[01]\r?$/;
const METHOD_SO_FAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]*( [^\s]*( H?T?T?P?\/?1?\.?[01]?)?)?$/;

/**
 * Classifies the first bytes of a tunnel: the HTTP/2 preface, an HTTP/1.x request line, or
 * anything else (TCP); undefined while the bytes so far could still become either HTTP.
 * Envoy's http_inspector does the same on a listener.
 */
export function classify(bytes: Buffer): DetectedProtocol | undefined {
  const prefaceLength = Math.min(bytes.length, PREFACE.length);
  if (bytes.subarray(0, prefaceLength).equals(PREFACE.subarray(0, prefaceLength)))
    return bytes.length >= PREFACE.length ? 'http2' : undefined;
  const lineEnd = bytes.indexOf(0x0a);
  if (lineEnd >= 0)
    return REQUEST_LINE.test(bytes.toString('latin1', 0, lineEnd)) ? 'http1' : 'tcp';
  if (bytes.length >= MAX_REQUEST_LINE) return 'tcp';
  return METHOD_SO_FAR.test(bytes.toString('latin1').replace(/\r$/, '')) ? undefined : 'tcp';
}

/** The outcome of detection; `ended` holds the bytes of a stream that ended undecided. */
export interface Detection {
  readonly protocol: DetectedProtocol;
  /**
   * Set when the client half-closed before its bytes decided anything: they could not be put
   * back into the ended stream, so they are here (possibly empty) and the stream yields none.
   */
  readonly ended?: Buffer;
}

/**
 * Reads from `stream` until its protocol is known, then puts every byte read back (unshift),
 * so that whoever takes the stream next sees it from its first byte. A stream that ends
 * before saying enough is TCP.
 */
export function detectProtocol(stream: Duplex): Promise<Detection> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const stop = (): void => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
    };
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = stream.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        length += chunk.length;
        const protocol = classify(chunks.length === 1 ? chunk : Buffer.concat(chunks, length));
        if (protocol !== undefined) {
          stop();
          stream.unshift(Buffer.concat(chunks, length));
          resolve({ protocol });
          return;
        }
      }
    };
    const onEnd = (): void => {
      stop();
      resolve({ protocol: 'tcp', ended: Buffer.concat(chunks, length) });
    };
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
  });
}
