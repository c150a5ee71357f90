import { closeSync, openSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { connectFd, socketInNetns } from '../../core/net/socket.js';

// GET from inside a network namespace (a node's or a pod's), for admin endpoints that only
// listen on that namespace's loopback: the socket is made there, the rest is node:http.

export interface NetnsReply {
  status: number;
  body: string;
}

export function getInNetns(netnsPath: string, url: string, timeoutMs = 2000): Promise<NetnsReply> {
  const target = new URL(url);
  const address = target.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(target.port || 80);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: address,
        port,
        path: `${target.pathname}${target.search}`,
        createConnection: () => {
          const fd = openSync(netnsPath, 'r');
          try {
            return connectFd(socketInNetns(fd, net.isIPv6(address) ? 6 : 4), { address, port });
          } finally {
            closeSync(fd);
          }
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', reject);
        response.once('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    request.setTimeout(timeoutMs, () =>
      request.destroy(new Error(`GET ${url}: no reply in ${timeoutMs} ms`)),
    );
    request.once('error', reject);
    request.end();
  });
}
