import { once } from 'node:events';
import {
  connect as http2connect,
  constants as http2constants,
  createServer as createHttp2Server,
} from 'node:http2';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { pipeBoth } from './pipe.js';
import { readAll } from './testing/fixture.js';

/** Both ends of one loopback TCP connection, each passing half-closes on. */
async function socketPair(t: Test): Promise<[Socket, Socket]> {
  const server = createServer({ allowHalfOpen: true });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({
    port: (server.address() as AddressInfo).port,
    host: '127.0.0.1',
    allowHalfOpen: true,
  });
  const [peer] = await accepted;
  server.close();
  t.teardown(() => {
    client.destroy();
    peer.destroy();
  });
  return [client, peer];
}

t.test('bytes flow both ways and a half-close reaches the other side', async (t) => {
  const [left, leftInner] = await socketPair(t);
  const [right, rightInner] = await socketPair(t);
  const piped = pipeBoth(leftInner, rightInner);
  left.end('request');
  t.equal((await readAll(right)).toString(), 'request', 'the end arrives after the bytes');
  right.end('response after the request ended');
  t.equal((await readAll(left)).toString(), 'response after the request ended');
  await piped;
  t.pass('resolves once both directions ended');
});

t.test('an error on one side destroys both and rejects', async (t) => {
  const [left, leftInner] = await socketPair(t);
  const [, rightInner] = await socketPair(t);
  left.on('error', () => {});
  const piped = pipeBoth(leftInner, rightInner);
  rightInner.destroy(new Error('boom'));
  await t.rejects(piped, { message: 'boom' });
  t.ok(leftInner.destroyed, 'the other side is destroyed');
  left.resume();
  await once(left, 'end');
  t.pass('the far end of the other side sees its connection end');
});

t.test(
  'a reply ended with a NO_ERROR reset arrives whole before the connection closes',
  async (t) => {
    // A server finishing a `Connection: close` exchange may reset its stream with NO_ERROR
    // right after the last DATA; the bytes still queued toward the client must not be lost.
    const body = Buffer.alloc(256 * 1024, 7);
    const server = createHttp2Server();
    server.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      stream.end(body, () => stream.close(http2constants.NGHTTP2_NO_ERROR));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const session = http2connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    t.teardown(() => {
      session.destroy();
      server.close();
    });
    for (let i = 0; i < 20; i++) {
      const [client, inner] = await socketPair(t);
      const stream = session.request({ ':method': 'POST', ':path': '/' });
      await once(stream, 'response');
      const piped = pipeBoth(inner, stream);
      const received = readAll(client);
      t.equal((await received).length, body.length, `reply ${i} arrived whole`);
      await piped;
    }
  },
);
