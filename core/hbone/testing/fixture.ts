import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Test } from 'tap';
import type { WorkloadCredentials } from '../../identity/credentials.js';
import { identityOf } from '../../identity/spiffe.js';
import { createTestCa, type TestCa } from '../../identity/testing/ca.js';
import { silentLogger } from '../../telemetry/log.js';
import type { PingOptions } from '../keepalive.js';
import { HbonePool, type TunnelTarget } from '../pool.js';
import { HboneServer, type HboneRequest } from '../server.js';

// An HBONE server on a loopback listener and a pool to reach it, with real certificates, for
// the tests of both ends. Not used outside tests.

export const SERVER_IDENTITY = identityOf({
  trustDomain: 'cluster.local',
  namespace: 'ns1',
  serviceAccount: 'server',
});
export const CLIENT_IDENTITY = identityOf({
  trustDomain: 'cluster.local',
  namespace: 'ns2',
  serviceAccount: 'client',
});

export interface ServerFixture {
  ca: TestCa;
  server: HboneServer;
  port: number;
  /** Every request that reached onRequest, in order. */
  requests: HboneRequest[];
  /** TCP connections the listener accepted. */
  accepted(): number;
  /** Replaces what the server's credentials() answers from now on. */
  setCredentials(credentials: WorkloadCredentials | undefined): void;
  /** A target reaching this server with `source`, expecting the server's identity. */
  target(source: WorkloadCredentials, overrides?: Partial<TunnelTarget>): TunnelTarget;
}

export interface ServerFixtureOptions extends PingOptions {
  ca?: TestCa;
  /** What each request gets; by default it is accepted and echoed. */
  onRequest?: (request: HboneRequest) => void;
}

let sharedCa: Promise<TestCa> | undefined;

/** One CA for a test process: key generation is the slow part of a fixture. */
export function testCa(): Promise<TestCa> {
  sharedCa ??= createTestCa();
  return sharedCa;
}

/** Accepts the tunnel and sends back whatever arrives, ending when the client ends. */
export function echo(request: HboneRequest): void {
  const stream = request.accept();
  stream.pipe(stream);
}

export async function startServer(
  t: Test,
  options: ServerFixtureOptions = {},
): Promise<ServerFixture> {
  const ca = options.ca ?? (await testCa());
  let credentials: WorkloadCredentials | undefined = await ca.issue(SERVER_IDENTITY);
  const requests: HboneRequest[] = [];
  const onRequest = options.onRequest ?? echo;
  const server = new HboneServer({
    credentials: () => credentials,
    onRequest: (request) => {
      requests.push(request);
      onRequest(request);
    },
    logger: silentLogger(),
    pingIntervalMs: options.pingIntervalMs,
    pingTimeoutMs: options.pingTimeoutMs,
  });
  let accepted = 0;
  const listener = createServer((socket) => {
    accepted += 1;
    server.handle(socket);
  });
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  t.teardown(async () => {
    listener.close();
    await server.drain(0);
  });
  const port = (listener.address() as AddressInfo).port;
  return {
    ca,
    server,
    port,
    requests,
    accepted: () => accepted,
    setCredentials: (next) => {
      credentials = next;
    },
    target: (source, overrides = {}) => ({
      source,
      peer: { address: '127.0.0.1', port },
      peerIdentities: [SERVER_IDENTITY],
      authority: '10.0.0.7:8080',
      createSocket: (): Socket => connect(port, '127.0.0.1'),
      ...overrides,
    }),
  };
}

export function startPool(
  t: Test,
  options: { maxStreamsPerConnection?: number; idleTimeoutMs?: number } & PingOptions = {},
): HbonePool {
  const pool = new HbonePool({ logger: silentLogger(), ...options });
  t.teardown(() => pool.close());
  return pool;
}

// Collected from events rather than `for await`, which destroys a socket once it has read
// to the end, and with it the half of the connection still writing.

/** Everything `stream` yields until it ends. */
export function readAll(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.once('end', () => resolve(Buffer.concat(chunks)));
    stream.once('error', reject);
  });
}

/** SHA-256 of everything `stream` yields until it ends, and how many bytes that was. */
export function digest(stream: Duplex): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
    });
    stream.once('end', () => resolve({ sha256: hash.digest('hex'), bytes }));
    stream.once('error', reject);
  });
}
