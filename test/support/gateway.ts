import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { gatewayArgs } from '../../local/mesh/components.js';
import { tempDir } from './ambit.js';
import type { Mesh, MeshPod, TokenSubject } from './mesh.js';
import { connectIn } from './netns.js';
import type { AmbitProcess } from './process.js';
import { waitProxyReady } from './waypoint.js';

// What the ingress gateway suites share: a gateway pod running `ambit gateway` in a namespace
// outside the mesh (as Istio installs istio-ingressgateway in istio-system), TLS material made
// with openssl, and HTTPS requests from inside a pod's namespace.

export const GATEWAY_ADMIN = 'http://127.0.0.1:15000';

export interface GatewaySpec {
  node: string;
  /** Default istio-system. */
  namespace?: string;
  /** The pod's name; default istio-ingressgateway-0. */
  name?: string;
  /** Default istio-ingressgateway. */
  serviceAccount?: string;
  /** Default `istio: ingressgateway`, what Istio's ingress gateway pods carry. */
  labels?: Record<string, string>;
}

export interface MeshGateway {
  readonly namespace: string;
  readonly name: string;
  readonly serviceAccount: string;
  readonly identity: string;
  readonly pod: MeshPod;
  readonly process: AmbitProcess;
}

/** The token a gateway needs: list it in `startMesh`'s `extraTokens`. */
export function gatewayToken(
  namespace = 'istio-system',
  serviceAccount = 'istio-ingressgateway',
): TokenSubject {
  return { namespace, serviceAccount };
}

/** Starts the gateway pod and `ambit gateway` in it; resolves once it reports ready. */
export async function addGateway(mesh: Mesh, spec: GatewaySpec): Promise<MeshGateway> {
  const namespace = spec.namespace ?? 'istio-system';
  const name = spec.name ?? 'istio-ingressgateway-0';
  const serviceAccount = spec.serviceAccount ?? 'istio-ingressgateway';
  const pod = await mesh.addPod({
    node: spec.node,
    namespace,
    name,
    labels: { ...(spec.labels ?? { istio: 'ingressgateway' }), 'istio.io/dataplane-mode': 'none' },
    serviceAccount,
  });
  const { controlPlane } = mesh;
  const process = await mesh.startAmbit(
    gatewayArgs(
      { name, namespace, serviceAccount },
      controlPlane,
      mesh.tokenFileFor({ namespace, serviceAccount }),
    ),
    pod.netns,
  );
  await waitGatewayReady(pod, process);
  return {
    namespace,
    name,
    serviceAccount,
    identity: `spiffe://cluster.local/ns/${namespace}/sa/${serviceAccount}`,
    pod,
    process,
  };
}

/** Polls `/healthz/ready` in the pod: synced, certified, every configured port listening. */
export function waitGatewayReady(
  pod: MeshPod,
  process: AmbitProcess,
  timeoutMs = 20_000,
): Promise<void> {
  return waitProxyReady(pod, process, 'gateway', timeoutMs);
}

/** A certificate and key in PEM. */
export interface Pem {
  readonly cert: string;
  readonly key: string;
}

const run = promisify(execFile);

/**
 * A throwaway CA and leaves for DNS names, as the Secure Gateways task makes them with
 * openssl: P-256 keys, the leaf's SAN the name.
 */
export async function makeTlsMaterial(
  t: Test,
  names: readonly string[],
): Promise<{ ca: Pem; leaves: Record<string, Pem> }> {
  const dir = await tempDir(t, 'ambit-gateway-tls-');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    caKey,
    '-out',
    caCert,
    '-days',
    '1',
    '-subj',
    '/O=example Inc./CN=example.com',
  ]);
  const leaves: Record<string, Pem> = {};
  for (const name of names) {
    const key = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const cert = join(dir, `${name}.crt`);
    const ext = join(dir, `${name}.ext`);
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      `/CN=${name}/O=example`,
    ]);
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(ext, `subjectAltName=DNS:${name}\nextendedKeyUsage=serverAuth,clientAuth\n`),
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      csr,
      '-CA',
      caCert,
      '-CAkey',
      caKey,
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      ext,
      '-out',
      cert,
    ]);
    leaves[name] = { cert: await readFile(cert, 'utf8'), key: await readFile(key, 'utf8') };
  }
  return {
    ca: { cert: await readFile(caCert, 'utf8'), key: await readFile(caKey, 'utf8') },
    leaves,
  };
}

/** A `kubernetes.io/tls` Secret with the leaf (and a CA bundle, when given). */
export function tlsSecret(namespace: string, name: string, leaf: Pem, ca?: string): object {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace },
    type: 'kubernetes.io/tls',
    data: {
      'tls.crt': b64(leaf.cert),
      'tls.key': b64(leaf.key),
      ...(ca === undefined ? {} : { 'ca.crt': b64(ca) }),
    },
  };
}

export interface HttpsAnswer {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The server's certificate as the client saw it. */
  readonly peer: tls.PeerCertificate;
}

/**
 * An HTTPS request from inside a namespace, as `curl --resolve host:port:ip --cacert ca` makes
 * it: SNI and Host the given name, the chain verified against `ca`, optionally a client
 * certificate. Rejects when the handshake fails.
 */
export async function httpsIn(
  netnsPath: string,
  to: { address: string; port: number },
  request: { servername: string; ca: string; client?: Pem; path: string; timeoutMs?: number },
): Promise<HttpsAnswer> {
  const timeoutMs = request.timeoutMs ?? 5000;
  const socket = await connectIn(netnsPath, to);
  const secure = tls.connect({
    socket,
    servername: request.servername,
    ca: request.ca,
    ALPNProtocols: ['http/1.1'],
    ...(request.client === undefined ? {} : { cert: request.client.cert, key: request.client.key }),
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('TLS handshake timed out')), timeoutMs);
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      resolve();
    });
    secure.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    secure.once('close', () => reject(new Error('connection closed during the handshake')));
  });
  const peer = secure.getPeerCertificate();
  return new Promise((resolve, reject) => {
    const outgoing = http.request(
      {
        host: request.servername,
        port: to.port,
        path: request.path,
        headers: { host: request.servername },
        createConnection: () => secure,
        timeout: timeoutMs,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (c: Buffer) => chunks.push(c));
        response.once('error', reject);
        response.once('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            peer,
          }),
        );
      },
    );
    outgoing.setTimeout(timeoutMs, () => outgoing.destroy(new Error('no HTTPS reply in time')));
    outgoing.once('error', reject);
    outgoing.end();
  });
}
