import { once } from 'node:events';
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
