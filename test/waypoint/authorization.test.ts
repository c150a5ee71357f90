import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type net from 'node:net';
import t, { type Test } from 'tap';
import { jwksOf, nowSeconds, signingKey, signToken } from '../../waypoint/authn/testing/tokens.js';
import { startMesh } from '../support/mesh.js';
import { connectIn, httpGetIn } from '../support/netns.js';
import {
  addWaypoint,
  askEcho,
  scrapeWaypoint,
  serveEcho,
  useWaypoint,
  waitWaypointBound,
  waypointToken,
  WAYPOINT_ADMIN,
  type EchoAnswer,
} from '../support/waypoint.js';
import { metricSum, waitEnrolled } from '../support/ztunnel.js';

// Istio's documented authorization scenarios through a namespace waypoint, end to end:
// L4 policy at the node tunnel (including "only the waypoint may reach the workload"), L7
// AuthorizationPolicy at the waypoint (methods, paths, headers, hosts), a JWT required for a
// path with RequestAuthentication, path-normalization tricks against a DENY, oversized
// headers, and an invalid policy rejected alone.

const NAMESPACE = 'authz';
const PORT = 9080;
/** The same echo as plain TCP: the waypoint forwards bytes and sees no HTTP. */
const TCP_PORT = 9090;
const TARGET_PORT = 8080;
const HOST = `echo.${NAMESPACE}.svc.cluster.local`;
const ISSUER = 'https://issuer.authz.test';
const RBAC_DENIED = 'RBAC: access denied';

const toWaypoint = [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'waypoint' }];
const toEchoService = [{ kind: 'Service', group: '', name: 'echo' }];

function yaml(kind: string, name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: 'security.istio.io/v1',
    kind,
    metadata: { name, namespace: NAMESPACE },
    spec,
  });
}

/** Resolves with the answer, or a status of 0 when the mesh cut the connection. */
async function attempt(run: () => Promise<EchoAnswer>): Promise<EchoAnswer> {
  try {
    return await run();
  } catch (err) {
    return { status: 0, headers: {}, body: String(err) };
  }
}

async function until<T>(what: string, run: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = performance.now() + 10_000;
  let last: T | undefined;
  for (;;) {
    last = await run().catch(() => last);
    if (last !== undefined && ok(last)) return last;
    if (performance.now() > deadline)
      throw new Error(`timed out waiting for ${what}: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

t.test('authorization at the node tunnel and the waypoint', async (t) => {
  const keys = { rsa: signingKey('RS256', 'rsa-1'), ec: signingKey('ES256', 'ec-1') };
  let jwksServed = 0;
  const jwksServer = createServer((_req, res) => {
    jwksServed++;
    res.setHeader('content-type', 'application/json');
    res.end(jwksOf(keys.rsa, keys.ec));
  });

  const mesh = await startMesh(t, { nodes: 1, extraTokens: [waypointToken(NAMESPACE)] });
  // The waypoint's pod reaches the root namespace on the cluster bridge, as the control plane.
  await new Promise<void>((resolve) => jwksServer.listen(0, mesh.cluster.bridgeIp, resolve));
  t.teardown(() => jwksServer.close());
  const jwksUri = `http://${mesh.cluster.bridgeIp}:${(jwksServer.address() as AddressInfo).port}/jwks`;

  await mesh.addNamespace(NAMESPACE, { 'istio.io/dataplane-mode': 'ambient' });
  const pod = (name: string, serviceAccount: string, labels: Record<string, string> = {}) =>
    mesh.addPod({
      node: 'node-1',
      namespace: NAMESPACE,
      name,
      serviceAccount,
      labels,
      ports: [TARGET_PORT],
    });
  const [sleep, other, echoPod, l4Pod] = await Promise.all([
    pod('sleep', 'sleep'),
    pod('other', 'other'),
    pod('echo-0', 'echo', { app: 'echo' }),
    pod('l4-0', 'l4', { app: 'l4' }),
  ]);
  const echo = await mesh.addService({
    namespace: NAMESPACE,
    name: 'echo',
    selector: { app: 'echo' },
    ports: [
      { name: 'http', port: PORT, targetPort: TARGET_PORT },
      { name: 'tcp', port: TCP_PORT, targetPort: TARGET_PORT },
    ],
  });
  await serveEcho(t, echoPod, { port: TARGET_PORT, version: 'v1' });
  await serveEcho(t, l4Pod, { port: TARGET_PORT, version: 'l4' });
  const waypoint = await addWaypoint(mesh, { namespace: NAMESPACE, node: 'node-1' });
  await useWaypoint(mesh, NAMESPACE, waypoint.name);
  const waypointPrincipal = waypoint.identity.replace('spiffe://', '');
  // Istio's L4 scenarios, at the destinations' node tunnel: l4-0 admits only sleep, and
  // echo-0 admits only its waypoint.
  await mesh.apply(
    'l4-policies.yaml',
    [
      yaml('AuthorizationPolicy', 'l4-allow-sleep', {
        selector: { matchLabels: { app: 'l4' } },
        action: 'ALLOW',
        rules: [{ from: [{ source: { principals: [`cluster.local/ns/${NAMESPACE}/sa/sleep`] } }] }],
      }),
      yaml('AuthorizationPolicy', 'echo-only-waypoint', {
        selector: { matchLabels: { app: 'echo' } },
        action: 'ALLOW',
        rules: [{ from: [{ source: { principals: [waypointPrincipal] } }] }],
      }),
    ].join('\n---\n'),
  );
  await mesh.waitReady();
  await waitEnrolled(mesh, [sleep, other, echoPod, l4Pod], [echo.hostname]);
  await waitWaypointBound(mesh, echo, waypoint);

  const vip = { address: echo.clusterIP, port: PORT };
  const ask = (
    from: { netnsPath: string },
    path: string,
    request: { method?: string; headers?: Record<string, string> } = {},
  ): Promise<EchoAnswer> =>
    askEcho(from, vip, { path, ...request, headers: { host: HOST, ...request.headers } });

  const policyNames = async (): Promise<string[]> => {
    const dump = JSON.parse(
      (await httpGetIn(waypoint.pod.netnsPath, `${WAYPOINT_ADMIN}/config_dump`, 2000)).body,
    ) as { services: { hostname: string; policies?: { name: string }[]; jwtRules?: unknown[] }[] };
    const service = dump.services.find((s) => s.hostname === echo.hostname);
    return [
      ...(service?.policies ?? []).map((p) => p.name),
      ...(service?.jwtRules ?? []).map(() => 'jwt'),
    ].sort();
  };
  /** Writes the file and waits until the waypoint holds exactly `names`; removed at the end. */
  const withPolicies = async (
    t: Test,
    file: string,
    documents: string[],
    names: string[],
  ): Promise<void> => {
    await mesh.apply(file, documents.join('\n---\n'));
    const expected = names.sort();
    await until(
      `${names.join(', ')} at the waypoint`,
      policyNames,
      (held) => held.length === expected.length && held.every((n, i) => n === expected[i]),
    );
    t.teardown(async () => {
      await mesh.remove(file);
      await until(`${file} gone from the waypoint`, policyNames, (held) => held.length === 0);
    });
  };
  const counted = async (code: number, flags: string): Promise<number> =>
    metricSum(await scrapeWaypoint(waypoint), 'ambit_waypoint_requests_total', {
      response_code: String(code),
      response_flags: flags,
    });

  t.test('L4: an ALLOW by principal at the node tunnel admits sleep only', async (t) => {
    const direct = { address: l4Pod.ip, port: TARGET_PORT };
    const denied = await until(
      'other refused',
      () => attempt(() => askEcho(other, direct, { path: '/' })),
      (a) => a.status !== 200,
    );
    t.equal(denied.status, 0, 'the node tunnel closes the connection of other');
    t.equal((await askEcho(sleep, direct, { path: '/' })).reply?.version, 'l4');
  });

  t.test('L4: the node tunnel admits only the waypoint’s identity', async (t) => {
    const viaWaypoint = await ask(sleep, '/');
    t.equal(viaWaypoint.status, 200, 'through the waypoint');
    t.equal(viaWaypoint.reply?.version, 'v1');
    const direct = await until(
      'a direct connection refused',
      () =>
        attempt(() => askEcho(sleep, { address: echoPod.ip, port: TARGET_PORT }, { path: '/' })),
      (a) => a.status !== 200,
    );
    t.equal(direct.status, 0, 'a direct connection to the pod is closed');
  });

  t.test('ALLOW GET from sleep: DELETE and other clients get 403', async (t) => {
    await withPolicies(
      t,
      'allow-get.yaml',
      [
        yaml('AuthorizationPolicy', 'allow-get', {
          targetRefs: toWaypoint,
          action: 'ALLOW',
          rules: [
            {
              from: [{ source: { principals: [`cluster.local/ns/${NAMESPACE}/sa/sleep`] } }],
              to: [{ operation: { methods: ['GET'] } }],
            },
          ],
        }),
      ],
      [`${NAMESPACE}/allow-get`],
    );
    const before = await counted(403, 'RBAC');
    t.equal((await ask(sleep, '/')).status, 200, 'GET from sleep');
    const del = await ask(sleep, '/', { method: 'DELETE' });
    t.equal(del.status, 403, 'DELETE from sleep');
    t.equal(del.body, RBAC_DENIED);
    t.match(del.headers['content-type'], /^text\/plain/);
    const fromOther = await ask(other, '/');
    t.equal(fromOther.status, 403, 'GET from other');
    t.equal(fromOther.body, RBAC_DENIED);
    t.equal((await counted(403, 'RBAC')) - before, 2, 'both counted with flag RBAC');
  });

  t.test('a DENY on /admin cannot be bypassed by path tricks', async (t) => {
    await withPolicies(
      t,
      'deny-admin.yaml',
      [
        yaml('AuthorizationPolicy', 'deny-admin', {
          targetRefs: toEchoService,
          action: 'DENY',
          rules: [{ to: [{ operation: { paths: ['/admin'] } }] }],
        }),
      ],
      [`${NAMESPACE}/deny-admin`],
    );
    for (const trick of [
      '/admin',
      '//admin',
      '/%2Fadmin',
      '/%2fadmin',
      '/%5Cadmin',
      '/./admin',
      '/foo/../admin',
      '/foo/%2E%2E/admin',
      '/../admin',
      '/%61dmin',
      '/admin?q=1',
      '/admin#fragment',
    ]) {
      const answer = await ask(sleep, trick);
      t.equal(answer.status, 403, `${trick} is denied`);
    }
    const normalized = await ask(sleep, '//public/./a/../b?x=1');
    t.equal(normalized.status, 200);
    t.equal(normalized.reply?.path, '/public/b?x=1', 'upstream gets the normalized path');
    t.equal((await ask(sleep, '/ADMIN')).status, 200, 'paths are case-sensitive, as in Istio');
    t.equal((await ask(sleep, '/a%zz')).status, 400, 'bad percent-encoding');
  });

  t.test('a when condition on a header', async (t) => {
    await withPolicies(
      t,
      'allow-alice.yaml',
      [
        yaml('AuthorizationPolicy', 'allow-alice', {
          targetRefs: toWaypoint,
          action: 'ALLOW',
          rules: [{ when: [{ key: 'request.headers[x-user]', values: ['alice'] }] }],
        }),
      ],
      [`${NAMESPACE}/allow-alice`],
    );
    t.equal((await ask(sleep, '/', { headers: { 'x-user': 'alice' } })).status, 200);
    t.equal((await ask(sleep, '/', { headers: { 'x-user': 'bob' } })).status, 403);
    t.equal((await ask(sleep, '/')).status, 403, 'no header');
  });

  t.test('hosts match whatever the case of the Host header', async (t) => {
    await withPolicies(
      t,
      'deny-host.yaml',
      [
        yaml('AuthorizationPolicy', 'deny-host', {
          targetRefs: toWaypoint,
          action: 'DENY',
          rules: [{ to: [{ operation: { hosts: [HOST], paths: ['/guarded'] } }] }],
        }),
      ],
      [`${NAMESPACE}/deny-host`],
    );
    for (const host of [HOST, HOST.toUpperCase(), `ECHO.${NAMESPACE}.svc.cluster.local:${PORT}`]) {
      t.equal((await ask(sleep, '/guarded', { headers: { host } })).status, 403, host);
    }
    t.equal(
      (await ask(sleep, '/guarded', { headers: { host: 'echo' } })).status,
      200,
      'short name',
    );
  });

  t.test('a JWT required for a path (RequestAuthentication + requestPrincipals)', async (t) => {
    await withPolicies(
      t,
      'jwt.yaml',
      [
        yaml('RequestAuthentication', 'jwt', {
          targetRefs: toWaypoint,
          jwtRules: [
            {
              issuer: ISSUER,
              jwksUri,
              outputClaimToHeaders: [{ header: 'x-jwt-sub', claim: 'sub' }],
            },
          ],
        }),
        yaml('AuthorizationPolicy', 'require-jwt', {
          targetRefs: toWaypoint,
          action: 'ALLOW',
          rules: [
            {
              from: [{ source: { requestPrincipals: ['*'] } }],
              to: [{ operation: { paths: ['/secure*'] } }],
            },
            { to: [{ operation: { notPaths: ['/secure*'] } }] },
          ],
        }),
      ],
      ['jwt', `${NAMESPACE}/require-jwt`],
    );
    const claims = { iss: ISSUER, sub: 'alice', exp: nowSeconds() + 600 };
    const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

    const missing = await ask(sleep, '/secure');
    t.equal(missing.status, 403, 'no token: denied by policy');
    t.equal(missing.body, RBAC_DENIED);
    t.equal((await ask(sleep, '/open')).status, 200, 'no token where none is required');

    for (const key of [keys.rsa, keys.ec]) {
      const ok = await ask(sleep, '/secure', bearer(signToken(key, claims)));
      t.equal(ok.status, 200, `a valid ${key.alg} token`);
      t.equal(ok.reply?.headers.authorization, undefined, 'the token is not forwarded');
      t.equal(ok.reply?.headers['x-jwt-sub'], 'alice', 'the claim is');
    }
    const refused: [string, string, string][] = [
      ['expired', signToken(keys.rsa, { ...claims, exp: nowSeconds() - 3600 }), 'Jwt is expired'],
      [
        'bad signature',
        `${signToken(keys.rsa, claims).split('.').slice(0, 2).join('.')}.${signToken(keys.rsa, { sub: 'x' }).split('.')[2]}`,
        'Jwt verification fails',
      ],
      [
        'unknown kid',
        signToken(keys.rsa, claims, { kid: 'nope' }),
        "Jwks doesn't have key to match kid or alg from Jwt",
      ],
      [
        'malformed',
        'not-a-jwt',
        'Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections',
      ],
      [
        'other issuer',
        signToken(keys.rsa, { ...claims, iss: 'https://other' }),
        'Jwt issuer is not configured',
      ],
    ];
    for (const [what, token, body] of refused) {
      const answer = await ask(sleep, '/secure', bearer(token));
      t.equal(answer.status, 401, what);
      t.equal(answer.body, body, `${what}: Envoy's text`);
    }
    t.equal(
      (await ask(sleep, '/open', bearer(signToken(keys.rsa, { ...claims, exp: 1 })))).status,
      401,
      'an invalid token is refused where none is required, as in Istio',
    );
    t.ok(jwksServed >= 1, 'the keys were fetched from jwksUri');
  });

  t.test('a TCP port: ALLOW rules with HTTP fields never match, others do', async (t) => {
    await withPolicies(
      t,
      'tcp.yaml',
      [
        yaml('AuthorizationPolicy', 'sleep-get', {
          targetRefs: toWaypoint,
          action: 'ALLOW',
          rules: [
            {
              from: [{ source: { principals: [`cluster.local/ns/${NAMESPACE}/sa/sleep`] } }],
              to: [{ operation: { methods: ['GET'] } }],
            },
          ],
        }),
        yaml('AuthorizationPolicy', 'other-tcp', {
          targetRefs: toWaypoint,
          action: 'ALLOW',
          rules: [
            {
              from: [{ source: { principals: [`cluster.local/ns/${NAMESPACE}/sa/other`] } }],
              to: [{ operation: { ports: [String(TCP_PORT)] } }],
            },
          ],
        }),
      ],
      [`${NAMESPACE}/other-tcp`, `${NAMESPACE}/sleep-get`],
    );
    const overTcp = async (from: { netnsPath: string }) =>
      rawExchange(
        await connectIn(from.netnsPath, { address: echo.clusterIP, port: TCP_PORT }),
        `GET / HTTP/1.1\r\nHost: ${HOST}\r\nconnection: close\r\n\r\n`,
      );
    t.match(await overTcp(other), /^HTTP\/1\.1 200 /, 'other over TCP: allowed by port');
    t.equal(await overTcp(sleep), '', 'sleep over TCP: the GET rule cannot match, closed');
    t.equal((await ask(sleep, '/')).status, 200, 'sleep over HTTP: GET allowed');
    t.equal((await ask(other, '/')).status, 403, 'other over HTTP on 9080: no rule');
  });

  t.test('oversized headers get 431 and the waypoint keeps serving', async (t) => {
    const big = 'x'.repeat(20 * 1024);
    const answer = await rawExchange(
      await connectIn(sleep.netnsPath, vip),
      `GET / HTTP/1.1\r\nHost: ${HOST}\r\nx-big: ${big}\r\n\r\n`,
    );
    t.match(answer, /^HTTP\/1\.1 431 /);
    t.equal((await ask(sleep, '/')).status, 200);
  });

  t.test('an invalid policy is rejected alone; the last good config keeps serving', async (t) => {
    const deny = (rules: unknown[]) =>
      yaml('AuthorizationPolicy', 'deny-blocked', {
        targetRefs: toWaypoint,
        action: 'DENY',
        rules,
      });
    await withPolicies(
      t,
      'deny-blocked.yaml',
      [deny([{ to: [{ operation: { paths: ['/blocked'] } }] }])],
      [`${NAMESPACE}/deny-blocked`],
    );
    t.equal((await ask(sleep, '/blocked')).status, 403);
    const rejected = async () =>
      metricSum(
        await (await fetch(`${mesh.controlPlane.monitoringUrl}/metrics`)).text(),
        'ambit_config_rejected_total',
        { kind: 'AuthorizationPolicy' },
      );
    const before = await rejected();
    // A DENY without rules is refused by validation (Istio: "meaningless").
    await mesh.apply('deny-blocked.yaml', deny([]));
    await until('the invalid policy rejected', rejected, (n) => n > before);
    t.equal((await ask(sleep, '/blocked')).status, 403, 'the last good version still denies');
    t.equal((await ask(sleep, '/')).status, 200, 'everything else is served');
    t.same(await policyNames(), [`${NAMESPACE}/deny-blocked`]);
  });
});

/** Writes raw bytes on a connection and resolves with everything read until the peer ends. */
function rawExchange(socket: net.Socket, bytes: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const received = () => Buffer.concat(chunks).toString('latin1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connection still open after ${timeoutMs} ms; received ${received()}`));
    }, timeoutMs);
    const closed = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(received());
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', () => undefined);
    socket.once('end', closed);
    socket.once('close', closed);
    socket.write(bytes);
  });
}
