import { once } from 'node:events';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isIPv6 } from 'node:net';
import type net from 'node:net';
import { CaClient } from '../../core/identity/ca-client.js';
import type { IssuedCredentials } from '../../core/identity/credentials.js';
import type { Identity } from '../../core/identity/spiffe.js';
import { connectFd, socketInNetns } from '../../core/net/socket.js';
import { silentLogger } from '../../core/telemetry/log.js';
import { AGENT_ADMIN_PORT, type Mesh, type MeshNode, type MeshPod } from './mesh.js';
import { connectIn, httpGetIn } from './netns.js';
import type { AmbitProcess } from './process.js';

// What the ztunnel end-to-end suites share: reading a node tunnel's admin and metrics from
// inside its node namespace, waiting until pods are enrolled, and a digest server for bulk
// transfers.

export const ZTUNNEL_ADMIN = 'http://127.0.0.1:15000';
export const ZTUNNEL_METRICS = 'http://127.0.0.1:15020';

interface ConfigDump {
  ready: boolean;
  pods: { uid: string; name: string; namespace: string }[];
  workloads: { name: string; namespace: string }[];
  services: { hostname: string }[];
  certificates: { identity: string; state: string }[];
}

export async function configDump(node: MeshNode): Promise<ConfigDump> {
  const reply = await httpGetIn(node.netnsPath, `${ZTUNNEL_ADMIN}/config_dump`, 2000);
  if (reply.status !== 200) throw new Error(`config_dump on ${node.name}: HTTP ${reply.status}`);
  return JSON.parse(reply.body) as ConfigDump;
}

/**
 * Waits until every pod is enrolled in its node's tunnel with a certificate, and every
 * node's tunnel knows every pod's workload and the named services.
 */
export async function waitEnrolled(
  mesh: Mesh,
  pods: readonly MeshPod[],
  services: readonly string[] = [],
  timeoutMs = 20_000,
): Promise<void> {
  let ok = false;
  let last = '';
  const check = async (): Promise<boolean> => {
    for (const node of mesh.nodes) {
      const dump = await configDump(node);
      for (const pod of pods) {
        if (!dump.workloads.some((w) => w.name === pod.name && w.namespace === pod.namespace)) {
          last = `${node.name} does not know workload ${pod.namespace}/${pod.name}`;
          return false;
        }
        if (pod.node !== node.name) continue;
        if (!dump.pods.some((p) => p.uid === pod.uid)) {
          last = `${pod.namespace}/${pod.name} not enrolled on ${node.name}`;
          return false;
        }
        const sa = `/ns/${pod.namespace}/sa/${pod.serviceAccount}`;
        if (!dump.certificates.some((c) => c.identity.endsWith(sa) && c.state === 'ready')) {
          last = `no certificate for ${sa} on ${node.name}`;
          return false;
        }
      }
      for (const hostname of services)
        if (!dump.services.some((s) => s.hostname === hostname)) {
          last = `${node.name} does not know service ${hostname}`;
          return false;
        }
    }
    return true;
  };
  const deadline = performance.now() + timeoutMs;
  while (!ok) {
    ok = await check().catch((err: unknown) => {
      last = String(err);
      return false;
    });
    if (!ok && performance.now() > deadline) throw new Error(`not enrolled: ${last}`);
    if (!ok) await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Prometheus text from a node tunnel's metrics port. */
export async function scrape(node: MeshNode): Promise<string> {
  const reply = await httpGetIn(node.netnsPath, `${ZTUNNEL_METRICS}/metrics`, 2000);
  if (reply.status !== 200) throw new Error(`metrics on ${node.name}: HTTP ${reply.status}`);
  return reply.body;
}

/** Sum of a metric's samples whose labels include every given label. */
export function metricSum(text: string, name: string, labels: Record<string, string>): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const body = line.slice(name.length + 1, close);
    const has = Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`));
    if (has) sum += Number(line.slice(close + 1).trim());
  }
  return sum;
}

/** Server side of a bulk transfer: hashes everything received, answers the hex digest. */
export function digestServer(socket: net.Socket): void {
  const hash = createHash('sha256');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => hash.update(chunk));
  socket.once('end', () => socket.end(hash.digest('hex')));
}

/**
 * Sends `total` bytes (a random block repeated) from inside `netnsPath` to `to`, half-closes,
 * and resolves with the digest the server answered and the one expected.
 */
export async function sendBulk(
  netnsPath: string,
  to: { address: string; port: number },
  total: number,
): Promise<{ expected: string; received: string; ms: number }> {
  const block = randomBytes(1 << 20);
  const expected = createHash('sha256');
  const started = performance.now();
  const socket = await connectIn(netnsPath, to);
  const reply: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => reply.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    socket.once('end', resolve);
    socket.once('error', reject);
  });
  for (let sent = 0; sent < total; sent += block.length) {
    const piece = total - sent >= block.length ? block : block.subarray(0, total - sent);
    expected.update(piece);
    // events.once removes its 'error' listener again; one added per wait would pile up.
    if (!socket.write(piece)) await once(socket, 'drain');
  }
  socket.end();
  await ended;
  return {
    expected: expected.digest('hex'),
    received: Buffer.concat(reply).toString('utf8'),
    ms: performance.now() - started,
  };
}

/** Waits for a metric to reach a value (counters settle when connections close). */
export async function waitForMetric(
  node: MeshNode,
  name: string,
  labels: Record<string, string>,
  expected: number,
  timeoutMs = 5000,
): Promise<void> {
  let value = NaN;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    value = metricSum(await scrape(node), name, labels);
    if (value === expected) return;
    if (performance.now() > deadline)
      throw new Error(
        `${name}${JSON.stringify(labels)} on ${node.name} is ${value}, not ${expected}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// What the fault suites add: a raw TCP dialler and mesh-issued certificates for playing a
// peer by hand from the test process, round trips on a connection kept open, log lines
// written after a point, and the node agent's metrics.

export const AGENT_ADMIN = `http://127.0.0.1:${AGENT_ADMIN_PORT}`;

/** A `createSocket` for HbonePool: plain TCP to `to`, made inside the namespace. */
export function dialFrom(
  netnsPath: string,
  to: { address: string; port: number },
): () => net.Socket {
  return () => {
    const netnsFd = openSync(netnsPath, 'r');
    try {
      return connectFd(socketInNetns(netnsFd, isIPv6(to.address) ? 6 : 4), to);
    } finally {
      closeSync(netnsFd);
    }
  };
}

/**
 * A certificate from the mesh's own CA, asked for with a node tunnel's token on behalf of a
 * pod on that node (the CA only grants identities of pods running there).
 */
export async function meshCertificate(
  mesh: Mesh,
  node: MeshNode,
  identity: Identity,
  options: { ttlSeconds?: number } = {},
): Promise<IssuedCredentials> {
  const ca = new CaClient({
    address: mesh.controlPlane.address,
    tls: {
      ca: await readFile(mesh.controlPlane.rootCertFile),
      servername: mesh.controlPlane.servername,
    },
    token: (await readFile(node.tokenFile, 'utf8')).trim(),
    logger: silentLogger(),
    ...(options.ttlSeconds === undefined ? {} : { ttlSeconds: options.ttlSeconds }),
  });
  try {
    return await ca.issue(identity, { impersonate: true });
  } finally {
    ca.close();
  }
}

/**
 * Writes `message` on a connection to an echo server and resolves once as many bytes came
 * back (and they are the same); rejects if the connection ends first or at the deadline.
 */
export function roundTrip(socket: net.Socket, message: string, timeoutMs = 5000): Promise<string> {
  const expected = Buffer.byteLength(message);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', finish);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= expected) finish();
    };
    const onClose = (): void =>
      finish(new Error(`connection closed after ${length} of ${expected} bytes`));
    const timer = setTimeout(
      () => finish(new Error(`only ${length} of ${expected} bytes came back in ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', finish);
    socket.write(message);
  });
}

/** The first log line written after `mark` (an index into `process.logs`) that matches. */
export function waitForLogAfter(
  process: AmbitProcess,
  mark: number,
  match: (line: Record<string, unknown>) => boolean,
  timeoutMs = 5000,
): Promise<Record<string, unknown>> {
  return process.waitForLog((line) => process.logs.indexOf(line) >= mark && match(line), timeoutMs);
}

/** Connections a node tunnel is carrying right now, from its `/config_dump`. */
export async function openConnections(
  node: MeshNode,
): Promise<{ direction: string; source: string; destination: string }[]> {
  const reply = await httpGetIn(node.netnsPath, `${ZTUNNEL_ADMIN}/config_dump`, 2000);
  if (reply.status !== 200) throw new Error(`config_dump on ${node.name}: HTTP ${reply.status}`);
  return (
    JSON.parse(reply.body) as {
      connections: { direction: string; source: string; destination: string }[];
    }
  ).connections;
}

/** Prometheus text from a node agent's admin port. */
export async function scrapeAgent(node: MeshNode): Promise<string> {
  const reply = await httpGetIn(node.netnsPath, `${AGENT_ADMIN}/metrics`, 2000);
  if (reply.status !== 200) throw new Error(`agent metrics on ${node.name}: HTTP ${reply.status}`);
  return reply.body;
}

/** Polls an async condition until it holds; rejects naming `what` at the deadline. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
