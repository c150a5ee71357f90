import tls from 'node:tls';
import t from 'tap';
import { stringify } from 'yaml';
import { startMesh } from '../support/mesh.js';
import { httpGetIn, httpIn, listenIn } from '../support/netns.js';
import {
  addGateway,
  GATEWAY_ADMIN,
  gatewayToken,
  httpsIn,
  makeTlsMaterial,
  tlsSecret,
  waitGatewayReady,
} from '../support/gateway.js';
import {
  addWaypoint,
  serveEcho,
  useWaypoint,
  waitWaypointBound,
  waypointToken,
} from '../support/waypoint.js';
import { metricSum, scrape, waitEnrolled, waitUntil } from '../support/ztunnel.js';

// The ingress gateway end to end, as Istio's "Ingress Gateways" and "Secure Gateways" tasks
// run it: httpbin in an ambient namespace, an `ambit gateway` pod in istio-system (outside
// the mesh, labelled istio=ingressgateway), and a client pod outside the mesh that reaches
// httpbin only through the gateway: HTTP, HTTPS (SIMPLE, MUTUAL), httpsRedirect, TLS
// passthrough by SNI, and a Gateway API Gateway of class istio with an HTTPRoute.

const HTTPBIN_NS = 'httpbin';
const HOST = 'httpbin.example.com';
const NGINX_HOST = 'nginx.example.com';
const API_HOST = 'api.example.com';

const doc = (...objects: object[]) => objects.map((o) => stringify(o)).join('---\n');

const httpbinGateway = (servers: object[]) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'Gateway',
  metadata: { name: 'httpbin-gateway', namespace: HTTPBIN_NS },
  spec: { selector: { istio: 'ingressgateway' }, servers },
});

const httpbinVirtualService = (prefixes: string[]) => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'httpbin', namespace: HTTPBIN_NS },
  spec: {
    hosts: [HOST],
    gateways: ['httpbin-gateway'],
    http: [
      {
        match: prefixes.map((prefix) => ({ uri: { prefix } })),
        route: [{ destination: { host: 'httpbin', port: { number: 8000 } } }],
      },
    ],
  },
});

t.test('an ingress gateway serves httpbin to clients outside the mesh', async (t) => {
  const apiGatewayAccount = { namespace: HTTPBIN_NS, serviceAccount: 'web-istio' };
  const mesh = await startMesh(t, {
    nodes: 1,
    extraTokens: [gatewayToken(), apiGatewayAccount, waypointToken(HTTPBIN_NS)],
  });
  await mesh.addNamespace('istio-system');
  await mesh.addNamespace('outside');
  await mesh.addNamespace(HTTPBIN_NS, { 'istio.io/dataplane-mode': 'ambient' });
  const material = await makeTlsMaterial(t, [HOST, NGINX_HOST, 'client.example.com']);
  const httpbin = await mesh.addPod({
    node: 'node-1',
    namespace: HTTPBIN_NS,
    name: 'httpbin-0',
    labels: { app: 'httpbin' },
    serviceAccount: 'httpbin',
    ports: [8080],
  });
  const httpbinService = await mesh.addService({
    namespace: HTTPBIN_NS,
    name: 'httpbin',
    selector: { app: 'httpbin' },
    ports: [{ name: 'http', port: 8000, targetPort: 8080 }],
  });
  const nginx = await mesh.addPod({
    node: 'node-1',
    namespace: HTTPBIN_NS,
    name: 'nginx-0',
    labels: { app: 'nginx' },
    serviceAccount: 'nginx',
    ports: [8443],
  });
  await mesh.addService({
    namespace: HTTPBIN_NS,
    name: 'nginx',
    selector: { app: 'nginx' },
    ports: [{ name: 'https', port: 443, targetPort: 8443 }],
  });
  const client = await mesh.addPod({ node: 'node-1', namespace: 'outside', name: 'curl' });
  await serveEcho(t, httpbin, { port: 8080, version: 'v1', httpbin: true });
  // The passthrough backend terminates TLS itself, with nginx.example.com's certificate.
  const nginxTls = tls.createServer(material.leaves[NGINX_HOST]!, (socket) =>
    socket.end('HTTP/1.1 200 OK\r\ncontent-length: 11\r\nconnection: close\r\n\r\nfrom nginx\n'),
  );
  await listenIn(t, nginx.netnsPath, { port: 8443 }, (socket) =>
    nginxTls.emit('connection', socket),
  );

  await mesh.apply(
    'httpbin-gateway.yaml',
    doc(
      httpbinGateway([{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [HOST] }]),
      httpbinVirtualService(['/status', '/delay']),
    ),
  );
  await mesh.waitReady();
  await waitEnrolled(mesh, [httpbin, nginx], []);
  const gateway = await addGateway(mesh, { node: 'node-1' });
  const at = (port: number) => ({ address: gateway.pod.ip, port });
  const get = (path: string, host = HOST, port = 80) =>
    httpIn(client.netnsPath, { ...at(port), path, headers: { host } });
  await waitUntil(
    'the gateway routes /status/200',
    async () => (await get('/status/200')).status === 200,
    15_000,
  );

  t.test('HTTP: matched paths reach httpbin, others and unknown hosts are 404', async (t) => {
    const ok = await get('/status/200');
    t.equal(ok.status, 200);
    t.equal(ok.headers['x-echo-pod'], 'httpbin-0', 'httpbin answered');
    t.equal((await get('/status/418')).status, 418);
    const headers = await get('/headers');
    t.equal(headers.status, 404, '/headers matches no route');
    t.equal(headers.headers['x-echo-pod'], undefined, 'the gateway answered');
    t.equal((await get('/status/200', 'unknown.example.com')).status, 404);
  });

  t.test('gateway to httpbin is mutual TLS over HBONE with the gateway identity', async (t) => {
    await get('/status/200');
    const labels = {
      reporter: 'destination',
      source_principal: gateway.identity,
      connection_security_policy: 'mutual_tls',
    };
    const [node] = mesh.nodes;
    const opened = metricSum(await scrape(node!), 'istio_tcp_connections_opened_total', labels);
    t.ok(opened > 0, `ztunnel counted ${opened} mTLS connections from ${gateway.identity}`);
  });

  t.test('a route change is served without restarting the gateway', async (t) => {
    await mesh.apply(
      'httpbin-gateway.yaml',
      doc(
        httpbinGateway([{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: [HOST] }]),
        httpbinVirtualService(['/status', '/delay', '/headers']),
      ),
    );
    await waitUntil(
      '/headers is routed',
      async () => (await get('/headers')).status === 200,
      10_000,
    );
    const body = JSON.parse((await get('/headers')).body) as { headers: Record<string, string> };
    t.equal(body.headers.Host, HOST, 'httpbin saw the client Host');
    t.equal(gateway.process.child.exitCode, null, 'same process');
  });

  t.test('HTTPS SIMPLE with credentialName, and httpsRedirect on port 80', async (t) => {
    await mesh.apply(
      'httpbin-credential.yaml',
      doc(tlsSecret('istio-system', 'httpbin-credential', material.leaves[HOST]!)),
    );
    await mesh.apply(
      'httpbin-gateway.yaml',
      doc(
        httpbinGateway([
          {
            port: { number: 80, name: 'http', protocol: 'HTTP' },
            hosts: [HOST],
            tls: { httpsRedirect: true },
          },
          {
            port: { number: 443, name: 'https', protocol: 'HTTPS' },
            hosts: [HOST],
            tls: { mode: 'SIMPLE', credentialName: 'httpbin-credential' },
          },
        ]),
        httpbinVirtualService(['/status', '/delay', '/headers']),
      ),
    );
    const https = () =>
      httpsIn(client.netnsPath, at(443), {
        servername: HOST,
        ca: material.ca.cert,
        path: '/status/418',
      });
    await waitUntil('HTTPS is served', async () => (await https()).status === 418, 10_000);
    const answer = await https();
    t.equal(answer.peer.subject.CN, HOST, 'the credential certificate, verified against the CA');
    const seen = await httpsIn(client.netnsPath, at(443), {
      servername: HOST,
      ca: material.ca.cert,
      path: '/headers',
    });
    const { headers } = JSON.parse(seen.body) as { headers: Record<string, string> };
    t.equal(headers['X-Forwarded-Proto'], 'https', 'httpbin learns the client used https');
    const redirect = await get('/status/200?x=1');
    t.equal(redirect.status, 301);
    t.equal(redirect.headers.location, `https://${HOST}/status/200?x=1`);
    await t.rejects(
      httpsIn(client.netnsPath, at(443), {
        servername: 'other.example.com',
        ca: material.ca.cert,
        path: '/',
      }),
      'no server for that SNI: the handshake fails',
    );
  });

  t.test('HTTPS MUTUAL: a client certificate is required and verified', async (t) => {
    await mesh.apply(
      'httpbin-credential.yaml',
      doc(
        tlsSecret('istio-system', 'httpbin-credential', material.leaves[HOST]!, material.ca.cert),
      ),
    );
    await mesh.apply(
      'httpbin-gateway.yaml',
      doc(
        httpbinGateway([
          {
            port: { number: 443, name: 'https', protocol: 'HTTPS' },
            hosts: [HOST],
            tls: { mode: 'MUTUAL', credentialName: 'httpbin-credential' },
          },
        ]),
        httpbinVirtualService(['/status', '/delay']),
      ),
    );
    const request = (withCert: boolean) =>
      httpsIn(client.netnsPath, at(443), {
        servername: HOST,
        ca: material.ca.cert,
        path: '/status/200',
        ...(withCert ? { client: material.leaves['client.example.com']! } : {}),
      });
    await waitUntil(
      'MUTUAL refuses a client without certificate',
      async () =>
        request(false).then(
          () => false,
          () => true,
        ),
      10_000,
    );
    await t.rejects(request(false), 'no client certificate: refused');
    t.equal((await request(true)).status, 200, 'with a certificate the CA signed');
  });

  t.test('TLS PASSTHROUGH: bytes go by SNI to the TLS-serving pod, untouched', async (t) => {
    await mesh.apply(
      'nginx-gateway.yaml',
      doc(
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'Gateway',
          metadata: { name: 'mygateway', namespace: HTTPBIN_NS },
          spec: {
            selector: { istio: 'ingressgateway' },
            servers: [
              {
                port: { number: 8443, name: 'tls', protocol: 'TLS' },
                hosts: [NGINX_HOST],
                tls: { mode: 'PASSTHROUGH' },
              },
            ],
          },
        },
        {
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'nginx', namespace: HTTPBIN_NS },
          spec: {
            hosts: [NGINX_HOST],
            gateways: ['mygateway'],
            tls: [
              {
                match: [{ port: 8443, sniHosts: [NGINX_HOST] }],
                route: [{ destination: { host: 'nginx', port: { number: 443 } } }],
              },
            ],
          },
        },
      ),
    );
    await waitGatewayReady(gateway.pod, gateway.process);
    const request = () =>
      httpsIn(client.netnsPath, at(8443), {
        servername: NGINX_HOST,
        ca: material.ca.cert,
        path: '/',
      });
    await waitUntil('passthrough is served', async () => (await request()).status === 200, 10_000);
    const answer = await request();
    t.equal(answer.body, 'from nginx\n');
    t.equal(answer.peer.subject.CN, NGINX_HOST, "nginx's own certificate: not terminated");
  });

  t.test('a Gateway API Gateway of class istio with an HTTPRoute', async (t) => {
    await mesh.apply(
      'web-gateway.yaml',
      doc(
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          metadata: { name: 'web', namespace: HTTPBIN_NS },
          spec: {
            gatewayClassName: 'istio',
            listeners: [{ name: 'http', hostname: '*.example.com', port: 80, protocol: 'HTTP' }],
          },
        },
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'httpbin', namespace: HTTPBIN_NS },
          spec: {
            parentRefs: [{ name: 'web' }],
            hostnames: [API_HOST],
            rules: [
              {
                matches: [{ path: { type: 'PathPrefix', value: '/get' } }],
                backendRefs: [{ name: 'httpbin', port: 8000 }],
              },
            ],
          },
        },
      ),
    );
    const web = await addGateway(mesh, {
      node: 'node-1',
      namespace: HTTPBIN_NS,
      name: 'web-istio-0',
      serviceAccount: 'web-istio',
      labels: { 'gateway.networking.k8s.io/gateway-name': 'web' },
    });
    const ask = (path: string, host = API_HOST) =>
      httpIn(client.netnsPath, { address: web.pod.ip, port: 80, path, headers: { host } });
    await waitUntil(
      'the HTTPRoute is served',
      async () => (await ask('/get')).status === 200,
      10_000,
    );
    const body = JSON.parse((await ask('/get?show_env=1')).body) as {
      args: Record<string, string>;
    };
    t.same(body.args, { show_env: '1' }, "httpbin's /get");
    t.equal((await ask('/status/200')).status, 404, 'no rule for /status');
    t.equal((await ask('/get', 'other.example.com')).status, 404, 'a host the route does not name');
  });

  t.test('an invalid Gateway is rejected alone; the last good config keeps serving', async (t) => {
    await mesh.apply(
      'bad-gateway.yaml',
      doc({
        apiVersion: 'networking.istio.io/v1',
        kind: 'Gateway',
        metadata: { name: 'bad', namespace: HTTPBIN_NS },
        spec: {
          selector: { istio: 'ingressgateway' },
          servers: [
            { port: { number: 9000, name: 'x', protocol: 'HTTPS' }, hosts: ['bad.example.com'] },
          ],
        },
      }),
    );
    const debugConfig = async () =>
      (await fetch(`${mesh.controlPlane.monitoringUrl}/debug/config`)).text();
    await waitUntil(
      'the control plane rejects it',
      async () => (await debugConfig()).includes('bad'),
      10_000,
    );
    t.match(await debugConfig(), /tls.*is required for HTTPS servers/);
    const dump = JSON.parse(
      (await httpGetIn(gateway.pod.netnsPath, `${GATEWAY_ADMIN}/config_dump`)).body,
    ) as { listening: number[] };
    t.notOk(dump.listening.includes(9000), 'no listener for the rejected Gateway');
    t.equal(
      (
        await httpsIn(client.netnsPath, at(443), {
          servername: HOST,
          ca: material.ca.cert,
          client: material.leaves['client.example.com']!,
          path: '/status/200',
        })
      ).status,
      200,
    );
    t.notMatch(
      JSON.stringify(dump),
      /BEGIN (EC )?PRIVATE KEY/,
      'no key material in the config dump',
    );
  });

  t.test(
    'istio.io/ingress-use-waypoint sends the gateway through the service waypoint',
    async (t) => {
      const waypoint = await addWaypoint(mesh, { namespace: HTTPBIN_NS, node: 'node-1' });
      await useWaypoint(mesh, httpbinService, waypoint.name);
      await waitWaypointBound(mesh, httpbinService, waypoint);
      // A mesh route only the waypoint applies: its response header shows who carried a request.
      await mesh.apply(
        'httpbin-mesh-route.yaml',
        doc({
          apiVersion: 'networking.istio.io/v1',
          kind: 'VirtualService',
          metadata: { name: 'httpbin-mesh', namespace: HTTPBIN_NS },
          spec: {
            hosts: ['httpbin'],
            http: [
              {
                headers: { response: { set: { 'x-through': 'waypoint' } } },
                route: [{ destination: { host: 'httpbin' } }],
              },
            ],
          },
        }),
      );
      const through = async () =>
        (
          await httpsIn(client.netnsPath, at(443), {
            servername: HOST,
            ca: material.ca.cert,
            client: material.leaves['client.example.com']!,
            path: '/status/200',
          })
        ).headers['x-through'];
      t.equal(await through(), undefined, 'without the label the gateway goes to the endpoints');
      await mesh.labelService(httpbinService, { 'istio.io/ingress-use-waypoint': 'true' });
      await waitUntil(
        'requests pass the waypoint',
        async () => (await through()) === 'waypoint',
        10_000,
      );
      t.equal(await through(), 'waypoint');
    },
  );
});
