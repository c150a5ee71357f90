import { closeSync, openSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { Test } from 'tap';
import { connectFd, listenInNetns, socketInNetns } from '../../core/net/socket.js';

// Servers and clients acting inside a network namespace (a pod's or a node's) from the test
// process itself: the socket is made in the namespace (core/net), everything else is plain
// node:net, so a test needs no helper process and sees errors as they happen.

/** Runs `fn` with an fd of the namespace at `netnsPath` (/run/netns/<name>), closed after. */
function inNetns<T>(netnsPath: string, fn: (netnsFd: number) => T): T {
  const fd = openSync(netnsPath, 'r');
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** Bytes in, the same bytes out, then half-close when the client half-closes. */
export function echo(socket: net.Socket): void {
  socket.on('error', () => socket.destroy());
  socket.pipe(socket);
}

/**
 * A TCP server listening inside a namespace (default 0.0.0.0, echoing). Closed at the end
 * of the test; `server.address()` gives the bound port when `port` is 0.
 */
export async function listenIn(
  t: Test,
  netnsPath: string,
  options: { address?: string; port: number },
  onConnection: (socket: net.Socket) => void = echo,
): Promise<net.Server> {
  const fd = inNetns(netnsPath, (netnsFd) =>
    listenInNetns(netnsFd, { address: options.address ?? '0.0.0.0', port: options.port }),
  );
  const server = net.createServer({ allowHalfOpen: true }, onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ fd }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Connections a test left open would hold close() forever.
  const open = new Set<net.Socket>();
  server.on('connection', (socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  );
  return server;
}

/** A TCP connection made from inside a namespace; resolves once connected. */
export function connectIn(
  netnsPath: string,
  to: { address: string; port: number },
): Promise<net.Socket> {
  const socket = inNetns(netnsPath, (netnsFd) =>
    connectFd(socketInNetns(netnsFd, net.isIPv6(to.address) ? 6 : 4), to),
  );
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

/**
 * Connects from inside a namespace, sends `message`, half-closes, and resolves with all
 * the peer sent back before closing (an echo server returns `message`).
 */
export async function exchange(
  netnsPath: string,
  to: { address: string; port: number },
  message: string,
  timeoutMs = 5000,
): Promise<string> {
  const socket = await connectIn(netnsPath, to);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of reply from ${to.address}:${to.port} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('end', () => {
      clearTimeout(timer);
      socket.end();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.end(message);
  });
}

export interface HttpReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * GET `url` (an IP literal host, e.g. a ztunnel admin endpoint on a node's loopback) from
 * inside a namespace.
 */
export function httpGetIn(netnsPath: string, url: string, timeoutMs = 5000): Promise<HttpReply> {
  const target = new URL(url);
  const address = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(target.port || 80);
  if (!net.isIP(address)) throw new Error(`httpGetIn wants an IP literal host, not ${url}`);
  return new Promise((resolve, reject) => {
    const request = http.get(
      target,
      {
        timeout: timeoutMs,
        createConnection: () =>
          inNetns(netnsPath, (netnsFd) =>
            connectFd(socketInNetns(netnsFd, net.isIPv6(address) ? 6 : 4), { address, port }),
          ),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', reject);
        response.once('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    request.once('timeout', () =>
      request.destroy(new Error(`GET ${url}: no reply in ${timeoutMs} ms`)),
    );
    request.once('error', reject);
  });
}
