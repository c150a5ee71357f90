import { closeSync, openSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import {
  bindTransparent,
  connectFd,
  listenInNetns,
  originalDst,
  setMark,
  socketFd,
  socketInNetns,
} from '../../core/net/socket.js';
import { installCapture } from './capture.js';
import { inNetns, tempNetns } from './testing/netns.js';

// Traffic through the capture rules: a "pod" netns joined by a veth to an "outside" netns.
// Servers and clients are made in-process inside either netns through core/net.

const POD_IP = '10.47.0.1';
const OUTSIDE_IP = '10.47.0.2';
const ZTUNNEL_MARK = 0x539;

interface Topology {
  pod: number;
  outside: number;
}

async function podWithPeer(t: Test): Promise<Topology> {
  const pod = await tempNetns(t);
  const outside = await tempNetns(t);
  await inNetns(
    pod.path,
    'ip',
    'link',
    'add',
    'eth0',
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    outside.name,
  );
  for (const [ns, ip] of [
    [pod.path, POD_IP],
    [outside.path, OUTSIDE_IP],
  ] as const) {
    await inNetns(ns, 'ip', 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
    await inNetns(ns, 'ip', 'link', 'set', 'eth0', 'up');
  }
  await installCapture(pod.path);
  const fds = { pod: openSync(pod.path, 'r'), outside: openSync(outside.path, 'r') };
  t.teardown(() => {
    closeSync(fds.pod);
    closeSync(fds.outside);
  });
  return fds;
}

/** A server inside `netns` on `address:port` that answers every connection with `reply(socket)`. */
async function serve(
  t: Test,
  netns: number,
  address: string,
  port: number,
  reply: (socket: net.Socket) => string,
): Promise<void> {
  const server = net.createServer((socket) => socket.end(reply(socket)));
  t.teardown(() => server.close());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd: listenInNetns(netns, { address, port }) }, resolve);
  });
}

/** Connects from inside `netns` (marked when asked) and returns all the server sent. */
function request(
  netns: number,
  to: { address: string; port: number },
  options: { mark?: number; from?: string } = {},
): Promise<string> {
  const fd = socketInNetns(netns, 4);
  if (options.mark !== undefined) setMark(fd, options.mark);
  if (options.from !== undefined) bindTransparent(fd, options.from);
  const socket = connectFd(fd, to);
  return new Promise((resolve, reject) => {
    let received = '';
    socket.setTimeout(3000, () =>
      socket.destroy(new Error(`no answer from ${to.address}:${to.port}`)),
    );
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.once('end', () => {
      // connectFd sockets are half-open capable: our side ends once the answer is in.
      socket.end();
      resolve(received);
    });
    socket.once('error', reject);
  });
}

const whereTo = (socket: net.Socket): string => {
  const dst = originalDst(socketFd(socket));
  return `${dst.address}:${dst.port}`;
};

t.test(
  'outbound TCP lands on 15001 in the pod, unless its socket carries the ztunnel mark',
  async (t) => {
    const { pod, outside } = await podWithPeer(t);
    await serve(t, pod, '0.0.0.0', 15001, (s) => `captured, headed for ${whereTo(s)}`);
    await serve(t, outside, OUTSIDE_IP, 8080, () => 'outside');

    t.equal(
      await request(pod, { address: OUTSIDE_IP, port: 8080 }),
      `captured, headed for ${OUTSIDE_IP}:8080`,
    );
    t.equal(
      await request(pod, { address: OUTSIDE_IP, port: 8080 }, { mark: ZTUNNEL_MARK }),
      'outside',
    );
  },
);

t.test('inbound TCP lands on 15006, except HBONE on 15008', async (t) => {
  const { pod, outside } = await podWithPeer(t);
  await serve(t, pod, '0.0.0.0', 15006, (s) => `inbound, headed for ${whereTo(s)}`);
  await serve(t, pod, '0.0.0.0', 15008, () => 'hbone');

  t.equal(
    await request(outside, { address: POD_IP, port: 8080 }),
    `inbound, headed for ${POD_IP}:8080`,
  );
  t.equal(await request(outside, { address: POD_IP, port: 15008 }), 'hbone');
});

t.test(
  'replies to a marked socket bound to a foreign source come back to that socket',
  async (t) => {
    // What ztunnel does inbound: it connects to the app as the original client. Without the
    // connmark and the table-100 route, the app's replies would leave for the real client.
    const { pod } = await podWithPeer(t);
    await serve(t, pod, POD_IP, 9080, (s) => `app saw ${s.remoteAddress}`);

    const answer = await request(
      pod,
      { address: POD_IP, port: 9080 },
      { mark: ZTUNNEL_MARK, from: OUTSIDE_IP },
    );
    t.equal(answer, `app saw ${OUTSIDE_IP}`);
  },
);
