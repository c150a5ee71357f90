import type net from 'node:net';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { sniffProtocol } from './sniff.js';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

/**
 * Feeds `pieces` one by one, noting the verdict after each; like a server handed the socket,
 * starts reading as soon as the verdict is given, and returns everything it read.
 */
async function sniff(pieces: string[]) {
  const socket = new PassThrough();
  const verdicts: (string | undefined)[] = [];
  let verdict: string | undefined;
  let replayed = '';
  sniffProtocol(socket as unknown as net.Socket, (protocol) => {
    verdict = protocol;
    socket.on('data', (chunk: Buffer) => (replayed += chunk.toString()));
  });
  for (const piece of pieces) {
    socket.write(piece);
    await new Promise((resolve) => setImmediate(resolve));
    verdicts.push(verdict);
  }
  socket.end();
  await new Promise((resolve) => socket.once('end', resolve));
  return { verdicts, replayed };
}

t.test('a preface split across reads is recognised only once complete', async (t) => {
  const { verdicts, replayed } = await sniff([PREFACE.slice(0, 5), PREFACE.slice(5), 'frames']);
  t.same(verdicts, [undefined, 'h2c', 'h2c']);
  t.equal(replayed, `${PREFACE}frames`, 'the server reads every byte from the first');
});

t.test('HTTP/1.1 is decided on the first byte that differs', async (t) => {
  const { verdicts, replayed } = await sniff(['PR', 'X', ' more']);
  t.same(verdicts, [undefined, 'http/1.1', 'http/1.1']);
  t.equal(replayed, 'PRX more');
});
