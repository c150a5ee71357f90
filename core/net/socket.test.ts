import { once } from 'node:events';
import { closeSync, openSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import type { Test } from 'tap';
import { NativeCallError } from './errors.js';
import {
  bindTransparent,
  connectFd,
  listenInNetns,
  originalDst,
  setMark,
  socketFd,
  socketInNetns,
} from './socket.js';
import { createTestNetns } from './testing/netns.js';

/** Serves on `options` (an fd from listenInNetns, or host/port); each connection gets the
 * handler's answer and is ended. Closed at teardown. */
async function serve(
  t: Test,
  options: net.ListenOptions | { fd: number },
  answer: (socket: net.Socket) => string,
): Promise<number> {
  const accepted = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    accepted.add(socket);
    socket.on('close', () => accepted.delete(socket));
    socket.end(answer(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, resolve);
  });
  t.teardown(async () => {
    for (const socket of accepted) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as net.AddressInfo).port;
}

/** Everything the server sends before it ends the connection. */
async function answerOf(socket: net.Socket): Promise<string> {
  let text = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  await once(socket, 'end');
  return text;
}

const thisThreadsNetns = () => readlinkSync('/proc/thread-self/ns/net');

t.test('a listener made in a pod netns serves that netns, not the root namespace', async (t) => {
  const pod = await createTestNetns(t);
  const home = thisThreadsNetns();
  const port = await serve(t, { host: '127.0.0.1', port: 0 }, () => 'root');

  // The port is taken in the root namespace, so binding it only works somewhere else.
  const podFd = listenInNetns(pod.fd, { address: '127.0.0.1', port });
  t.equal(await serve(t, { fd: podFd }, () => 'pod'), port);

  const inPod = connectFd(socketInNetns(pod.fd, 4), { address: '127.0.0.1', port });
  t.equal(await answerOf(inPod), 'pod', 'a socket made in the pod reaches the pod listener');
  t.equal(await answerOf(net.connect(port, '127.0.0.1')), 'root', 'the root namespace does not');
  t.equal(thisThreadsNetns(), home, 'the calling thread is back in its own namespace');
});

for (const listener of ['127.0.0.1', '::']) {
  t.test(
    `originalDst returns where an IPv4 connection went before REDIRECT (listener ${listener})`,
    async (t) => {
      const pod = await createTestNetns(t);
      let dst: unknown;
      const fd = listenInNetns(pod.fd, { address: listener, port: 0 });
      const port = await serve(t, { fd }, (s) => {
        dst = originalDst(socketFd(s));
        return 'captured';
      });
      await pod.exec(
        `iptables -t nat -A OUTPUT -p tcp -d 127.0.0.2 --dport 8080 -j REDIRECT --to-ports ${port}`,
      );

      const client = connectFd(socketInNetns(pod.fd, 4), { address: '127.0.0.2', port: 8080 });
      t.equal(await answerOf(client), 'captured');
      t.same(dst, { address: '127.0.0.2', port: 8080, family: 4 });
    },
  );
}

t.test('originalDst returns where an IPv6 connection went before REDIRECT', async (t) => {
  const pod = await createTestNetns(t);
  await pod.exec('ip -6 addr add 2001:db8::7/128 dev lo nodad');
  let dst: unknown;
  const port = await serve(t, { fd: listenInNetns(pod.fd, { address: '::', port: 0 }) }, (s) => {
    dst = originalDst(socketFd(s));
    return 'captured';
  });
  try {
    await pod.exec(
      `ip6tables -t nat -A OUTPUT -p tcp -d 2001:db8::7 --dport 8080 -j REDIRECT --to-ports ${port}`,
    );
  } catch (err) {
    t.plan(0, `this kernel has no IPv6 NAT (${(err as Error).message})`);
    return;
  }

  const client = connectFd(socketInNetns(pod.fd, 6), { address: '2001:db8::7', port: 8080 });
  t.equal(await answerOf(client), 'captured');
  t.same(dst, { address: '2001:db8::7', port: 8080, family: 6 });
});

t.test('a socket marked 0x539 passes the capture redirect that takes unmarked ones', async (t) => {
  const pod = await createTestNetns(t);
  const listen = () => ({ fd: listenInNetns(pod.fd, { address: '127.0.0.1', port: 0 }) });
  const app = await serve(t, listen(), () => 'app');
  const capture = await serve(t, listen(), () => 'capture');
  // The shape of the in-pod OUTPUT rule (cni/rules): unmarked TCP is redirected.
  await pod.exec(
    `iptables -t nat -A OUTPUT -p tcp -d 127.0.0.1 --dport ${app} -m mark ! --mark 0x539/0xfff -j REDIRECT --to-ports ${capture}`,
  );

  const unmarked = connectFd(socketInNetns(pod.fd, 4), { address: '127.0.0.1', port: app });
  t.equal(await answerOf(unmarked), 'capture');

  const fd = socketInNetns(pod.fd, 4);
  setMark(fd, 0x539);
  t.equal(await answerOf(connectFd(fd, { address: '127.0.0.1', port: app })), 'app');
});

for (const { family, foreign, server } of [
  { family: 4, foreign: '10.255.0.9', server: '127.0.0.1' },
  { family: 6, foreign: '2001:db8::9', server: '::1' },
] as const) {
  t.test(
    `bindTransparent keeps a foreign IPv${family} source address, as the server sees it`,
    async (t) => {
      const pod = await createTestNetns(t);
      const bits = family === 4 ? 32 : 128;
      // Replies to the foreign address are delivered locally, the job table 100 does for
      // ztunnel's inbound sockets in a pod. The address itself stays foreign: bind() only
      // counts the local table.
      await pod.exec(`ip -${family} route add local ${foreign}/${bits} dev lo table 100`);
      await pod.exec(`ip -${family} rule add to ${foreign}/${bits} lookup 100`);
      const port = await serve(
        t,
        { fd: listenInNetns(pod.fd, { address: server, port: 0 }) },
        (s) => s.remoteAddress ?? '',
      );

      const plain = new net.Socket({ fd: socketInNetns(pod.fd, family) });
      plain.connect({ host: server, port, localAddress: foreign });
      const [refused] = (await once(plain, 'error')) as [NodeJS.ErrnoException];
      t.equal(refused.code, 'EADDRNOTAVAIL', 'a plain bind refuses the address');

      const fd = socketInNetns(pod.fd, family);
      bindTransparent(fd, foreign);
      t.equal(await answerOf(connectFd(fd, { address: server, port })), foreign);
    },
  );
}

t.test('connectFd reports a refused connection as an error event', async (t) => {
  const pod = await createTestNetns(t);
  const socket = connectFd(socketInNetns(pod.fd, 4), { address: '127.0.0.1', port: 9 });
  const [err] = (await once(socket, 'error')) as [NodeJS.ErrnoException];
  t.equal(err.code, 'ECONNREFUSED');
  t.equal(err.syscall, 'connect');
});

t.test('a failed call throws NativeCallError naming the syscall and errno', async (t) => {
  const pod = await createTestNetns(t);
  const home = thisThreadsNetns();
  const notANetns = openSync('/dev/null', 'r');
  t.teardown(() => closeSync(notANetns));

  t.throws(
    () => socketInNetns(notANetns, 4),
    new NativeCallError('setns', 22, `netns fd ${notANetns}`),
  );
  t.throws(() => socketInNetns(notANetns, 4), {
    code: 'AMBIT_NET_CALL',
    syscall: 'setns',
    errno: 22,
    errnoName: 'EINVAL',
  });
  // Far above any fd this process has open (a just-closed number would be reused at once).
  t.throws(() => socketInNetns(100_000, 6), {
    code: 'AMBIT_NET_CALL',
    syscall: 'setns',
    errnoName: 'EBADF',
  });
  t.equal(thisThreadsNetns(), home, 'a failed call leaves the thread where it was');

  t.throws(() => listenInNetns(pod.fd, { address: 'not-an-ip', port: 80 }), {
    code: 'AMBIT_NET_CALL',
    syscall: 'inet_pton',
    errnoName: 'EINVAL',
  });
  t.throws(() => originalDst(notANetns), {
    code: 'AMBIT_NET_CALL',
    syscall: 'getsockname',
    errnoName: 'ENOTSOCK',
  });
  t.throws(() => setMark(notANetns, 0x539), {
    code: 'AMBIT_NET_CALL',
    syscall: 'setsockopt',
    errnoName: 'ENOTSOCK',
  });
  const v4 = socketInNetns(pod.fd, 4);
  t.teardown(() => closeSync(v4));
  t.throws(() => bindTransparent(v4, '::1'), {
    code: 'AMBIT_NET_CALL',
    syscall: 'inet_pton',
    errnoName: 'EINVAL',
  });
  t.throws(() => socketFd(new net.Socket()), {
    code: 'AMBIT_NET_CALL',
    syscall: 'fd',
    errnoName: 'EBADF',
  });
});
