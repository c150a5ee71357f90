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

/** One HTTP/1.1 request made from inside a namespace by `httpIn`. */
export interface HttpInRequest {
  /** An IP literal: a service VIP, a pod IP, a loopback admin port. */
  address: string;
  port: number;
  /** Default GET. */
  method?: string;
  /** Path and query; default `/`. */
  path?: string;
  /** `host` among them replaces the default `address:port`. */
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Default 5000. */
  timeoutMs?: number;
  /** A keep-alive agent from `netnsAgent` (same namespace); default a new connection. */
  agent?: http.Agent;
}

/** Makes a TCP connection from inside the namespace, for node:http. */
function dialer(netnsPath: string, to: { address: string; port: number }): () => net.Socket {
  return () =>
    inNetns(netnsPath, (netnsFd) =>
      connectFd(socketInNetns(netnsFd, net.isIPv6(to.address) ? 6 : 4), to),
    );
}

/**
 * An HTTP request from inside a namespace (a pod's: captured like the pod's own traffic).
 * Resolves with the whole answer; rejects on a connection error, a reset, or no answer in
 * time.
 */
export function httpIn(netnsPath: string, request: HttpInRequest): Promise<HttpReply> {
  const { address, port } = request;
  if (!net.isIP(address)) throw new Error(`httpIn wants an IP literal address, not ${address}`);
  const timeoutMs = request.timeoutMs ?? 5000;
  const method = request.method ?? 'GET';
  const path = request.path ?? '/';
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        host: address,
        port,
        method,
        path,
        headers: request.headers,
        timeout: timeoutMs,
        ...(request.agent
          ? { agent: request.agent }
          : { createConnection: dialer(netnsPath, { address, port }) }),
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
    // Node applies `timeout` to the socket only through an Agent; with createConnection
    // it must be set on the request, or a server that never answers hangs the test.
    if (!request.agent) outgoing.setTimeout(timeoutMs);
    outgoing.once('timeout', () =>
      outgoing.destroy(
        new Error(`${method} http://${address}:${port}${path}: no reply in ${timeoutMs} ms`),
      ),
    );
    outgoing.once('error', reject);
    outgoing.end(request.body);
  });
}

/**
 * A keep-alive agent whose connections are made inside the namespace, for many requests
 * over few connections (`httpIn`'s `agent`). Its sockets are destroyed when the test ends.
 */
export function netnsAgent(
  t: Test,
  netnsPath: string,
  options: { maxSockets?: number } = {},
): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 8 });
  agent.createConnection = (connectOptions) =>
    dialer(netnsPath, {
      address: String(connectOptions.host),
      port: Number(connectOptions.port),
    })();
  t.teardown(() => agent.destroy());
  return agent;
}

/**
 * GET `url` (an IP literal host, e.g. a ztunnel admin endpoint on a node's loopback) from
 * inside a namespace.
 */
export function httpGetIn(netnsPath: string, url: string, timeoutMs = 5000): Promise<HttpReply> {
  const target = new URL(url);
  const address = target.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!net.isIP(address)) throw new Error(`httpGetIn wants an IP literal host, not ${url}`);
  return httpIn(netnsPath, {
    address,
    port: Number(target.port || 80),
    path: `${target.pathname}${target.search}`,
    timeoutMs,
  });
}
