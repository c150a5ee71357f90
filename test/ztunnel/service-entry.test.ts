import type net from 'node:net';
import t from 'tap';
import { stringify } from 'yaml';
import { addressPlan } from '../../local/addresses.js';
import { startMesh } from '../support/mesh.js';
import { connectIn, echo, listenIn } from '../support/netns.js';
import {
  addWaypoint,
  askEcho,
  scrapeWaypoint,
  serveEcho,
  waitWaypointBound,
  waypointToken,
} from '../support/waypoint.js';
import { metricSum, roundTrip, scrape, waitEnrolled, waitUntil } from '../support/ztunnel.js';

// ServiceEntry, WorkloadEntry and the outbound traffic policy end to end. The "external"
// host is a pod in a namespace outside the ambient mesh whose Pod object is then removed:
// nothing captures it and the registry does not know its address, as for a host on the
// internet. An egress waypoint (Istio ambient's egress pattern) fronts one ServiceEntry.

const CLIENT_NS = 'se-client';
const OUTSIDE_NS = 'se-outside';
const EGRESS_NS = 'istio-egress';
const HTTP_PORT = 8080;
const TCP_PORT = 9000;

t.test('ServiceEntry, WorkloadEntry and REGISTRY_ONLY at the node tunnel', async (t) => {
  const mesh = await startMesh(t, { nodes: 1, extraTokens: [waypointToken(EGRESS_NS)] });
  const plan = addressPlan(mesh.cluster.octet);
  // VIPs for ServiceEntries, far above those addService hands out.
  const vip = (n: number) => plan.serviceVip(200 + n);
  await mesh.addNamespace(CLIENT_NS, { 'istio.io/dataplane-mode': 'ambient' });
  await mesh.addNamespace(OUTSIDE_NS);
  await mesh.addNamespace(EGRESS_NS);
  const client = await mesh.addPod({
    node: 'node-1',
    namespace: CLIENT_NS,
    name: 'sleep',
    serviceAccount: 'sleep',
  });
  const external = await mesh.addPod({ node: 'node-1', namespace: OUTSIDE_NS, name: 'ext' });
  await serveEcho(t, external, { port: HTTP_PORT, version: 'external' });
  // Who connected to the external host's TCP echo, last first.
  const tcpPeers: string[] = [];
  await listenIn(t, external.netnsPath, { port: TCP_PORT }, (socket) => {
    tcpPeers.unshift(socket.remoteAddress ?? '');
    echo(socket);
  });
  // Out of the registry: the network namespace stays, the Pod object goes.
  await mesh.remove(`pod-${OUTSIDE_NS}-ext.yaml`);
  const waypoint = await addWaypoint(mesh, { namespace: EGRESS_NS, node: 'node-1' });
  await mesh.waitReady();
  await waitEnrolled(mesh, [client]);
  const [node] = mesh.nodes;
  if (node === undefined) throw new Error('no node');

  const direct = { address: external.ip, port: HTTP_PORT };
  const failures = async (reason: string) =>
    metricSum(await scrape(node), 'ambit_ztunnel_connection_failures_total', {
      direction: 'outbound',
      reason,
    });
  const reaches = async (to: { address: string; port: number }, host?: string) => {
    const answer = await askEcho(client, to, {
      timeoutMs: 2000,
      ...(host && { headers: { host } }),
    }).catch(() => undefined);
    return answer?.status === 200 && answer.reply?.version === 'external';
  };
  const refused = async (to: { address: string; port: number }) =>
    askEcho(client, to, { timeoutMs: 2000 }).then(
      () => false,
      (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET',
    );

  let before: net.Socket | undefined;
  t.teardown(() => before?.destroy());

  t.test('ALLOW_ANY (the default) lets an ambient pod reach an unknown host', async (t) => {
    const answer = await askEcho(client, direct);
    t.equal(answer.status, 200);
    t.equal(answer.reply?.sourceAddress, client.ip, 'plain TCP from the client itself');
    before = await connectIn(client.netnsPath, { address: external.ip, port: TCP_PORT });
    t.equal(await roundTrip(before, 'opened under ALLOW_ANY'), 'opened under ALLOW_ANY');
  });

  t.test('REGISTRY_ONLY refuses the next connection and leaves open ones alone', async (t) => {
    const counted = await failures('registry_only');
    await mesh.apply(
      'configmap-istio.yaml',
      stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'istio', namespace: 'istio-system' },
        data: { mesh: stringify({ outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' } }) },
      }),
    );
    await waitUntil('a connection to the unknown host is refused', () => refused(direct), 10_000);
    t.ok((await failures('registry_only')) > counted, 'counted as registry_only');
    const log = node.ztunnel?.logs.find(
      (l) => l.reason === 'registry_only' && l.dst === `${external.ip}:${HTTP_PORT}`,
    );
    t.equal(log?.workload, `${CLIENT_NS}/sleep`, 'logged with the source workload');
    if (before === undefined) throw new Error('no connection from the first case');
    t.equal(await roundTrip(before, 'still open'), 'still open', 'the open connection works');
  });

  t.test('a ServiceEntry with the host address (resolution NONE) admits it', async (t) => {
    await mesh.apply(
      'serviceentry-ext.yaml',
      stringify({
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name: 'ext', namespace: CLIENT_NS },
        spec: {
          hosts: ['ext.example.com'],
          addresses: [external.ip],
          ports: [{ number: HTTP_PORT, name: 'http', protocol: 'HTTP' }],
          location: 'MESH_EXTERNAL',
          resolution: 'NONE',
        },
      }),
    );
    await waitUntil('the ServiceEntry admits the host', () => reaches(direct), 10_000);
    const answer = await askEcho(client, direct);
    t.equal(answer.reply?.sourceAddress, client.ip, 'plain TCP: no tunnel at the far end');
    t.ok(await refused({ address: external.ip, port: TCP_PORT }), 'its other ports stay refused');
  });

  t.test('a ServiceEntry VIP with STATIC endpoints goes to the endpoint', async (t) => {
    const to = { address: vip(1), port: 80 };
    await mesh.apply(
      'serviceentry-static.yaml',
      stringify({
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: { name: 'static', namespace: CLIENT_NS },
        spec: {
          hosts: ['static.example.com'],
          addresses: [to.address],
          ports: [{ number: 80, name: 'http', protocol: 'HTTP', targetPort: HTTP_PORT }],
          location: 'MESH_EXTERNAL',
          resolution: 'STATIC',
          endpoints: [{ address: external.ip }],
        },
      }),
    );
    await waitUntil('the VIP reaches the endpoint', () => reaches(to), 10_000);
    const opened = metricSum(await scrape(node), 'istio_tcp_connections_opened_total', {
      reporter: 'source',
      destination_service: 'static.example.com',
    });
    t.ok(opened > 0, 'reported against the ServiceEntry host');
  });

  t.test('a WorkloadEntry backs a service with its own identity', async (t) => {
    await mesh.apply(
      'workloadentry-vm.yaml',
      stringify({
        apiVersion: 'networking.istio.io/v1',
        kind: 'WorkloadEntry',
        metadata: { name: 'vm', namespace: CLIENT_NS },
        spec: { address: external.ip, labels: { app: 'vm' }, serviceAccount: 'vm-sa' },
      }),
    );
    const service = await mesh.addService({
      namespace: CLIENT_NS,
      name: 'vm',
      selector: { app: 'vm' },
      ports: [{ name: 'http', port: 80, targetPort: HTTP_PORT }],
    });
    const to = { address: service.clusterIP, port: 80 };
    await waitUntil('the service reaches the WorkloadEntry', () => reaches(to), 10_000);
    const opened = metricSum(await scrape(node), 'istio_tcp_connections_opened_total', {
      reporter: 'source',
      destination_service: service.hostname,
      destination_workload: 'vm',
      destination_principal: `spiffe://cluster.local/ns/${CLIENT_NS}/sa/vm-sa`,
    });
    t.ok(opened > 0, "reported with the WorkloadEntry's workload and identity");
  });

  t.test('an egress waypoint carries a ServiceEntry bound to it and routes it', async (t) => {
    const to = { address: vip(2), port: 80 };
    const host = 'egress.example.com';
    await mesh.apply(
      'serviceentry-egress.yaml',
      stringify({
        apiVersion: 'networking.istio.io/v1',
        kind: 'ServiceEntry',
        metadata: {
          name: 'egress',
          namespace: EGRESS_NS,
          labels: { 'istio.io/use-waypoint': waypoint.name },
        },
        spec: {
          hosts: [host],
          addresses: [to.address],
          ports: [
            { number: 80, name: 'http', protocol: 'HTTP', targetPort: HTTP_PORT },
            { number: TCP_PORT, name: 'tcp', protocol: 'TCP' },
          ],
          location: 'MESH_EXTERNAL',
          resolution: 'STATIC',
          endpoints: [{ address: external.ip }],
        },
      }),
    );
    const bound = { namespace: EGRESS_NS, name: 'egress', clusterIP: to.address, hostname: host };
    await waitWaypointBound(mesh, bound, waypoint);
    await waitUntil('the waypoint forwards to the host', () => reaches(to, host), 10_000);
    const requests = 'ambit_waypoint_requests_total';
    const counted = metricSum(await scrapeWaypoint(waypoint), requests, {});
    const answer = await askEcho(client, to, { headers: { host } });
    t.equal(answer.status, 200);
    t.equal(answer.reply?.sourceAddress, waypoint.pod.ip, 'the waypoint made the call');
    t.ok(metricSum(await scrapeWaypoint(waypoint), requests, {}) > counted, 'and counted it');

    const socket = await connectIn(client.netnsPath, { address: to.address, port: TCP_PORT });
    t.teardown(() => socket.destroy());
    t.equal(await roundTrip(socket, 'plain TCP egress'), 'plain TCP egress', 'a TCP port too');
    t.equal(tcpPeers[0], waypoint.pod.ip, 'in plain TCP from the waypoint');

    await mesh.apply(
      'virtualservice-egress.yaml',
      stringify({
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'egress', namespace: EGRESS_NS },
        spec: {
          hosts: [host],
          http: [
            {
              headers: { request: { set: { 'x-egress': 'through-waypoint' } } },
              route: [{ destination: { host } }],
            },
          ],
        },
      }),
    );
    await waitUntil(
      'the VirtualService applies at the egress waypoint',
      async () => {
        const routed = await askEcho(client, to, { headers: { host } });
        return routed.reply?.headers['x-egress'] === 'through-waypoint';
      },
      10_000,
    );
    t.pass('the waypoint set the header the VirtualService asks for');
  });

  t.test('an invalid ServiceEntry is rejected alone', async (t) => {
    const good = { address: vip(3), port: 80 };
    const bad = { address: vip(4), port: 80 };
    const entry = (name: string, address: string, extra: object) => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'ServiceEntry',
      metadata: { name, namespace: CLIENT_NS },
      spec: {
        hosts: [`${name}.example.com`],
        addresses: [address],
        ports: [{ number: 80, name: 'http', protocol: 'HTTP', targetPort: HTTP_PORT }],
        location: 'MESH_EXTERNAL',
        endpoints: [{ address: external.ip }],
        ...extra,
      },
    });
    const rejected = async () =>
      metricSum(
        await (await fetch(`${mesh.controlPlane.monitoringUrl}/metrics`)).text(),
        'ambit_config_rejected_total',
        { kind: 'ServiceEntry' },
      );
    const rejectedBefore = await rejected();
    await mesh.apply(
      'serviceentry-mixed.yaml',
      [
        stringify(entry('good', good.address, { resolution: 'STATIC' })),
        // Resolution NONE takes no endpoints (Istio's ValidateServiceEntry).
        stringify(entry('bad', bad.address, { resolution: 'NONE' })),
      ].join('---\n'),
    );
    await waitUntil('the valid ServiceEntry admits its VIP', () => reaches(good), 10_000);
    t.ok((await rejected()) > rejectedBefore, 'the control plane counted the rejection');
    t.ok(await refused(bad), 'the invalid one admits nothing');
    t.ok(await reaches(direct), 'ServiceEntries applied earlier keep serving');
  });
});
