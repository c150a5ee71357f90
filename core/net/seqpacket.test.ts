import { once } from 'node:events';
import { closeSync, fstatSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { waitFor } from '../xds/testing/wait.js';
import { native } from './native.js';
import { MAX_MESSAGE_BYTES, SeqpacketServer, SeqpacketSocket } from './seqpacket.js';
import { connectFd, listenInNetns, socketInNetns } from './socket.js';
import { createTestNetns } from './testing/netns.js';

interface Received {
  data: Buffer;
  fds: number[];
}

/** A socket path in a fresh directory, removed at teardown. */
function socketPath(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ambit-seqpacket-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return join(dir, 'zds.sock');
}

/** A server at a fresh path, and a connected client with the server's end of it. */
async function connectedPair(t: Test) {
  const server = SeqpacketServer.listen(socketPath(t));
  t.teardown(() => server.close());
  const accepted = once(server, 'connection') as Promise<[SeqpacketSocket]>;
  const client = await SeqpacketSocket.connect(server.path);
  const [peer] = await accepted;
  t.teardown(() => {
    client.close();
    peer.close();
  });
  return { server, client, peer };
}

/** Collects every message `socket` receives. */
function inbox(socket: SeqpacketSocket): Received[] {
  const received: Received[] = [];
  socket.on('message', (data, fds) => received.push({ data, fds }));
  return received;
}

t.test('each message arrives whole and alone, both ways', async (t) => {
  const { client, peer } = await connectedPair(t);
  const atPeer = inbox(peer);
  const atClient = inbox(client);
  const sizes = [1, 1000, MAX_MESSAGE_BYTES, 7];
  const sent = sizes.map((size, i) => Buffer.alloc(size, i + 1));
  for (const message of sent) client.send(message);
  peer.send(Buffer.from('ack'));

  await waitFor('all messages at the peer', () => atPeer.length === sent.length);
  t.same(
    atPeer.map((m) => m.data),
    sent,
  );
  await waitFor('the answer at the client', () => atClient.length === 1);
  t.equal(atClient[0]?.data.toString(), 'ack');
});

t.test(
  'a passed netns fd arrives as a new close-on-exec fd that makes sockets there',
  async (t) => {
    const pod = await createTestNetns(t);
    const { client, peer } = await connectedPair(t);
    const atPeer = inbox(peer);
    client.send(Buffer.from('add'), [pod.fd]);
    await waitFor('the message with the fd', () => atPeer.length === 1);
    const [received] = atPeer[0]?.fds ?? [];
    if (received === undefined) throw new Error('no fd arrived');
    t.teardown(() => closeSync(received));

    t.not(received, pod.fd, 'the receiver has its own fd');
    t.equal(fstatSync(received).ino, statSync(pod.path).ino, 'for the same namespace');
    const flags = /^flags:\s+([0-7]+)$/m.exec(
      readFileSync(`/proc/self/fdinfo/${received}`, 'utf8'),
    )?.[1];
    t.ok(Number.parseInt(flags ?? '0', 8) & 0o2000000, 'with O_CLOEXEC');

    // A listener made through the received fd is reached from a socket made through the
    // sender's: both are the pod's namespace.
    const server = net.createServer((socket) => socket.end('pod'));
    await new Promise<void>((resolve) =>
      server.listen({ fd: listenInNetns(received, { address: '127.0.0.1', port: 0 }) }, resolve),
    );
    t.teardown(() => server.close());
    const { port } = server.address() as net.AddressInfo;
    const socket = connectFd(socketInNetns(pod.fd, 4), { address: '127.0.0.1', port });
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    await once(socket, 'end');
    socket.end();
    t.equal(answer, 'pod');
  },
);

t.test("the peer's hang-up emits 'close' once, and sending after close fails", async (t) => {
  const { client, peer } = await connectedPair(t);
  let closes = 0;
  peer.on('close', () => closes++);
  client.close();
  client.close();
  await waitFor("the peer's close", () => closes === 1);
  peer.close();
  t.equal(closes, 1, "'close' is emitted once");
  t.throws(() => peer.send(Buffer.from('late')), {
    code: 'AMBIT_NET_CALL',
    syscall: 'sendmsg',
    errnoName: 'EBADF',
  });
});

t.test('messages queued before a hang-up are delivered before the close', async (t) => {
  const { client, peer } = await connectedPair(t);
  const atPeer = inbox(peer);
  let messagesAtClose = -1;
  peer.on('close', () => (messagesAtClose = atPeer.length));
  client.send(Buffer.from('one'));
  client.send(Buffer.from('two'));
  client.close();
  await waitFor("the peer's close", () => messagesAtClose >= 0);
  t.equal(messagesAtClose, 2);
});

t.test('a message larger than 64 KiB is an error on the receiving side, then close', async (t) => {
  const server = SeqpacketServer.listen(socketPath(t));
  t.teardown(() => server.close());
  const accepted = once(server, 'connection') as Promise<[SeqpacketSocket]>;
  // Bypass SeqpacketSocket.send, which refuses such a message.
  const rawFd = native().seqpacketConnect(server.path);
  t.teardown(() => closeSync(rawFd));
  const [peer] = await accepted;
  const events: string[] = [];
  let error: unknown;
  peer.on('error', (err) => {
    events.push('error');
    error = err;
  });
  peer.on('close', () => events.push('close'));
  native().seqpacketSend(rawFd, Buffer.alloc(MAX_MESSAGE_BYTES + 1), []);
  await waitFor("the peer's close", () => events.includes('close'));
  t.same(events, ['error', 'close']);
  t.match(error, { code: 'AMBIT_NET_CALL', syscall: 'recvmsg', errnoName: 'EMSGSIZE' });
});

t.test('send refuses what the receiver could not take', async (t) => {
  const { client } = await connectedPair(t);
  t.throws(() => client.send(Buffer.alloc(0)), RangeError);
  t.throws(() => client.send(Buffer.alloc(MAX_MESSAGE_BYTES + 1)), RangeError);
  t.throws(() => client.send(Buffer.from('x'), Array<number>(17).fill(0)), RangeError);
});

t.test('listen replaces a stale socket file, not a live server', async (t) => {
  const path = socketPath(t);
  // A socket file nobody listens on any more, as a crashed agent leaves behind.
  closeSync(native().seqpacketListen(path));
  const server = SeqpacketServer.listen(path);
  t.teardown(() => server.close());
  t.throws(() => SeqpacketServer.listen(path), {
    code: 'AMBIT_NET_CALL',
    syscall: 'bind',
    errnoName: 'EADDRINUSE',
  });
  const client = await SeqpacketSocket.connect(path);
  client.close();
  server.close();
  t.throws(() => statSync(path), { code: 'ENOENT' }, 'close removes the socket file');
});

t.test('connecting where nobody listens rejects with the errno', async (t) => {
  await t.rejects(SeqpacketSocket.connect(socketPath(t)), {
    code: 'AMBIT_NET_CALL',
    syscall: 'connect',
    errnoName: 'ENOENT',
  });
});
