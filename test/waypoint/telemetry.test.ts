import { createInterface } from 'node:readline';
import t from 'tap';
import { stringify } from 'yaml';
import { startCollector } from '../support/collector.js';
import { startMesh } from '../support/mesh.js';
import { httpGetIn, netnsAgent } from '../support/netns.js';
import {
  addWaypoint,
  askEcho,
  scrapeWaypoint,
  serveEcho,
  useWaypoint,
  waitWaypointBound,
  waypointToken,
  WAYPOINT_ADMIN,
} from '../support/waypoint.js';
import { metricSum, waitEnrolled } from '../support/ztunnel.js';

// Request telemetry at a namespace waypoint, end to end: Istio's request metrics scraped from
// the waypoint's metrics port, its JSON access log on stdout switched by MeshConfig and the
// Telemetry API without a restart, and spans sent over OTLP/HTTP to a collector on the
// cluster bridge (where the control plane listens), with W3C context propagated upstream.

const NAMESPACE = 'telemetry';
const PORT = 9080;
const TARGET_PORT = 8080;
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const REQUESTS = 'istio_requests_total';
const DROPPED = 'ambit_tracing_spans_dropped_total';

t.test('request telemetry at the waypoint', async (t) => {
  const mesh = await startMesh(t, { nodes: 1, extraTokens: [waypointToken(NAMESPACE)] });
  await mesh.addNamespace(NAMESPACE, { 'istio.io/dataplane-mode': 'ambient' });
  const client = await mesh.addPod({ node: 'node-1', namespace: NAMESPACE, name: 'client' });
  const echoPod = await mesh.addPod({
    node: 'node-1',
    namespace: NAMESPACE,
    name: 'echo-0',
    labels: { app: 'echo', version: 'v1' },
    ports: [TARGET_PORT],
  });
  const ports = [{ name: 'http', port: PORT, targetPort: TARGET_PORT }];
  const echo = await mesh.addService({
    namespace: NAMESPACE,
    name: 'echo',
    selector: { app: 'echo' },
    ports,
  });
  const other = await mesh.addService({
    namespace: NAMESPACE,
    name: 'other',
    selector: { app: 'echo' },
    ports,
  });
  await serveEcho(t, echoPod, { port: TARGET_PORT, version: 'v1' });
  const waypoint = await addWaypoint(mesh, { namespace: NAMESPACE, node: 'node-1' });
  await useWaypoint(mesh, NAMESPACE, waypoint.name);
  await mesh.waitReady();
  await waitEnrolled(mesh, [client, echoPod], [echo.hostname, other.hostname]);
  for (const bound of [echo, other]) await waitWaypointBound(mesh, bound, waypoint);

  // The waypoint's stdout: access log lines only (its own logs go to stderr).
  const accessLines: Record<string, unknown>[] = [];
  const notJson: string[] = [];
  createInterface({ input: waypoint.process.child.stdout! }).on('line', (line) => {
    try {
      accessLines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      notJson.push(line);
    }
  });
  // The node tunnel's stdout: its access log, one line per connection.
  const ztunnelLines: Record<string, unknown>[] = [];
  createInterface({ input: mesh.nodes[0]!.ztunnel!.child.stdout! }).on('line', (line) => {
    ztunnelLines.push(JSON.parse(line) as Record<string, unknown>);
  });
  const collector = await startCollector(t, mesh.cluster.bridgeIp);
  const meshConfig = (accessLogFile: string) =>
    stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'istio', namespace: 'istio-system' },
      data: {
        mesh: stringify({
          accessLogFile,
          extensionProviders: [
            {
              name: 'otel',
              opentelemetry: {
                service: mesh.cluster.bridgeIp,
                port: collector.port,
                http: { path: '/v1/traces' },
              },
            },
          ],
          defaultProviders: { tracing: ['otel'] },
          // Only requests whose caller sampled them are traced.
          defaultConfig: { tracing: { sampling: 0 } },
        }),
      },
    });
  const telemetry = (name: string, service: string, accessLogging: Record<string, unknown>) =>
    stringify({
      apiVersion: 'telemetry.istio.io/v1',
      kind: 'Telemetry',
      metadata: { name, namespace: NAMESPACE },
      spec: {
        targetRefs: [{ kind: 'Service', group: '', name: service }],
        accessLogging: [accessLogging],
      },
    });

  interface Dump {
    services: { name: string; telemetry?: { accessLogging?: { disabled: boolean } } }[];
    mesh?: { accessLogFile: string };
  }
  const dump = async (): Promise<Dump> =>
    JSON.parse(
      (await httpGetIn(waypoint.pod.netnsPath, `${WAYPOINT_ADMIN}/config_dump`, 2000)).body,
    ) as Dump;
  const until = async (what: string, check: () => Promise<boolean> | boolean, ms = 15_000) => {
    const deadline = performance.now() + ms;
    while (!(await Promise.resolve(check()).catch(() => false))) {
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const agent = netnsAgent(t, client.netnsPath);
  let sequence = 0;
  const requestId = () => `telemetry-${process.pid}-${++sequence}`;
  const ask = (path: string, headers: Record<string, string> = {}, to = echo) =>
    askEcho(
      client,
      { address: to.clusterIP, port: PORT },
      { path, agent, headers: { host: `${to.name}:${PORT}`, ...headers } },
    );
  const logged = (id: string) => accessLines.find((l) => l.request_id === id);
  const count = async (code: string, flags: string) =>
    metricSum(await scrapeWaypoint(waypoint), REQUESTS, {
      reporter: 'waypoint',
      destination_service: echo.hostname,
      response_code: code,
      response_flags: flags,
    });

  await mesh.apply('mesh-config.yaml', meshConfig('/dev/stdout'));
  await mesh.apply(
    'vs-echo.yaml',
    stringify({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'echo', namespace: NAMESPACE },
      spec: {
        hosts: ['echo'],
        http: [
          {
            match: [{ uri: { prefix: '/fault' } }],
            fault: { abort: { httpStatus: 503, percentage: { value: 100 } } },
            route: [{ destination: { host: 'echo' } }],
          },
          { match: [{ uri: { prefix: '/ok' } }], route: [{ destination: { host: 'echo' } }] },
        ],
      },
    }),
  );
  await until('MeshConfig and the VirtualService at the waypoint', async () => {
    const id = requestId();
    const reply = await ask('/fault', { 'x-request-id': id });
    return reply.status === 503 && (await dump()).mesh?.accessLogFile === '/dev/stdout';
  });

  t.test('istio_requests_total counts each request by response code and flags', async (t) => {
    const before = {
      ok: await count('200', '-'),
      fault: await count('503', 'FI'),
      noRoute: await count('404', 'NR'),
    };
    const ids: { id: string; code: number }[] = [];
    const send = async (path: string, code: number) => {
      const id = requestId();
      const reply = await ask(path, { 'x-request-id': id });
      t.equal(reply.status, code, `${path} answered ${code}`);
      ids.push({ id, code });
    };
    for (let i = 0; i < 7; i++) await send(`/ok/${i}`, 200);
    for (let i = 0; i < 3; i++) await send('/fault', 503);
    for (let i = 0; i < 2; i++) await send('/missing', 404);
    t.equal((await count('200', '-')) - before.ok, 7);
    t.equal((await count('503', 'FI')) - before.fault, 3);
    t.equal((await count('404', 'NR')) - before.noRoute, 2);
    const text = await scrapeWaypoint(waypoint);
    t.ok(
      metricSum(text, REQUESTS, {
        reporter: 'waypoint',
        source_workload: 'client',
        source_workload_namespace: NAMESPACE,
        source_principal: `spiffe://cluster.local/ns/${NAMESPACE}/sa/default`,
        source_canonical_service: 'client',
        destination_service_name: 'echo',
        destination_service_namespace: NAMESPACE,
        destination_workload: 'echo-0',
        destination_canonical_service: 'echo',
        destination_canonical_revision: 'v1',
        connection_security_policy: 'mutual_tls',
        response_code: '200',
      }) >= 7,
      'forwarded requests carry the source and destination workload labels',
    );
    t.match(text, /istio_request_duration_milliseconds_bucket\{le="0.5",[^}]*reporter="waypoint"/);
    t.match(text, /istio_response_bytes_sum\{[^}]*response_code="200"[^}]*\} [1-9]/);

    await until('an access log line for every request', () => ids.every(({ id }) => logged(id)));
    for (const { id, code } of ids)
      t.match(logged(id), {
        request_id: id,
        response_code: code,
        method: 'GET',
        authority: `echo:${PORT}`,
      });
    t.match(logged(ids[0]!.id), {
      protocol: 'HTTP/1.1',
      response_flags: '-',
      upstream_cluster: `outbound|${PORT}||${echo.hostname}`,
      upstream_host: `${echoPod.ip}:${TARGET_PORT}`,
      downstream_peer_uri_san: `spiffe://cluster.local/ns/${NAMESPACE}/sa/default`,
      route_name: /VirtualService telemetry\/echo/,
    });
    t.match(logged(ids[7]!.id), { response_flags: 'FI', upstream_host: null });
    t.match(logged(ids[10]!.id), { response_flags: 'NR' });
    t.same(notJson, [], 'stdout holds only access log lines');
  });

  t.test('the node tunnel logs each connection once it closes', async (t) => {
    const reply = await askEcho(
      client,
      { address: echo.clusterIP, port: PORT },
      { path: '/ok', headers: { host: `echo:${PORT}`, connection: 'close' } },
    );
    t.equal(reply.status, 200);
    const toEcho = (l: Record<string, unknown>) =>
      l.direction === 'outbound' && l['dst.addr'] === `${echo.clusterIP}:${PORT}`;
    await until('a connection line from the client node tunnel', () => ztunnelLines.some(toEcho));
    t.match(ztunnelLines.find(toEcho), {
      scope: 'access',
      message: 'connection complete',
      'src.addr': new RegExp(`^${client.ip.replace(/\./g, '\\.')}:\\d+$`),
      'src.workload': 'client',
      'src.identity': `spiffe://cluster.local/ns/${NAMESPACE}/sa/default`,
      'dst.service': echo.hostname,
      bytes_sent: Number,
      bytes_recv: Number,
    });
    t.ok((ztunnelLines.find(toEcho)!.bytes_recv as number) > 0, 'the response bytes counted');
  });

  t.test('access logging is switched by Telemetry and MeshConfig without a restart', async (t) => {
    const pid = waypoint.process.child.pid;
    // Telemetry on `echo` only turns its log off; `other` still follows MeshConfig (on).
    await mesh.apply('telemetry-echo.yaml', telemetry('echo-quiet', 'echo', { disabled: true }));
    await until('the Telemetry at the waypoint', async () =>
      (await dump()).services.some(
        (s) => s.name === 'echo' && s.telemetry?.accessLogging?.disabled === true,
      ),
    );
    const quiet = requestId();
    const marker = requestId();
    t.equal((await ask('/ok', { 'x-request-id': quiet })).status, 200);
    t.equal((await ask('/', { 'x-request-id': marker }, other)).status, 200);
    // Lines are written in the order requests finish: once the later one is there, the
    // earlier one would be too.
    await until('the line of the request to other', () => logged(marker) !== undefined);
    t.equal(logged(quiet), undefined, 'no line for echo while its Telemetry disables it');

    // MeshConfig turns logs off everywhere; a Telemetry naming the built-in provider turns
    // echo's back on.
    await mesh.apply(
      'telemetry-echo.yaml',
      telemetry('echo-loud', 'echo', { providers: [{ name: 'envoy' }] }),
    );
    await mesh.apply('mesh-config.yaml', meshConfig(''));
    await until('the new MeshConfig and Telemetry at the waypoint', async () => {
      const d = await dump();
      return (
        d.mesh?.accessLogFile === '' &&
        d.services.some((s) => s.name === 'echo' && s.telemetry?.accessLogging?.disabled === false)
      );
    });
    const silenced = requestId();
    const loud = requestId();
    t.equal((await ask('/', { 'x-request-id': silenced }, other)).status, 200);
    t.equal((await ask('/ok', { 'x-request-id': loud })).status, 200);
    await until('the line of the request to echo', () => logged(loud) !== undefined);
    t.equal(logged(silenced), undefined, 'no line for other once MeshConfig turned logs off');
    t.equal(waypoint.process.child.pid, pid, 'the same waypoint process throughout');
    t.equal(waypoint.process.child.exitCode, null);
  });

  t.test('a traced request is the child of its caller and the parent upstream', async (t) => {
    const id = requestId();
    const reply = await ask('/ok/traced', {
      'x-request-id': id,
      traceparent: `00-${TRACE}-${CALLER_SPAN}-01`,
    });
    t.equal(reply.status, 200);
    const upstream = String(reply.reply?.headers.traceparent);
    const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(upstream);
    t.ok(match, `the echo received traceparent ${upstream}`);
    t.equal(match?.[1], TRACE, 'in the same trace');
    const waypointSpan = match?.[2];
    t.not(waypointSpan, CALLER_SPAN);
    t.equal(reply.reply?.headers['x-b3-parentspanid'], CALLER_SPAN, 'B3 headers too');
    await until('the span at the collector', () =>
      collector.spans.some((s) => s.spanId === waypointSpan),
    );
    const span = collector.spans.find((s) => s.spanId === waypointSpan)!;
    t.match(span, {
      traceId: TRACE,
      parentSpanId: CALLER_SPAN,
      kind: 2,
      name: `${echo.hostname}:${PORT}/*`,
    });
    const tag = (key: string) => span.attributes.find((a) => a.key === key)?.value.stringValue;
    t.equal(tag('http.status_code'), '200');
    t.equal(tag('guid:x-request-id'), id);
    t.equal(tag('upstream_cluster'), `outbound|${PORT}||${echo.hostname}`);
    t.equal(tag('node_id'), `waypoint~${waypoint.name}.${NAMESPACE}`);
    const untraced = await ask('/ok/untraced');
    t.match(String(untraced.reply?.headers.traceparent), /-00$/, 'an unsampled new trace');
  });

  t.test('a collector that hangs or is down slows no request; drops are counted', async (t) => {
    const dropped = async () => metricSum(await scrapeWaypoint(waypoint), DROPPED, {});
    const before = await dropped();
    const traced = async () => {
      const started = performance.now();
      const reply = await ask('/ok', { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` });
      t.equal(reply.status, 200);
      return performance.now() - started;
    };
    collector.hangFromNowOn();
    const whileHanging: number[] = [];
    for (let i = 0; i < 10; i++) whileHanging.push(await traced());
    collector.stop();
    const whileDown: number[] = [];
    for (let i = 0; i < 10; i++) whileDown.push(await traced());
    // The export timeout is 5 s: a request that waited on the collector would take that long;
    // 2.5 s leaves room for a loaded machine.
    const slowest = Math.max(...whileHanging, ...whileDown);
    t.ok(
      slowest < 2500,
      `every traced request finished well under the 5 s export timeout (slowest ${Math.round(slowest)} ms)`,
    );
    await until('spans counted as dropped', async () => (await dropped()) > before, 20_000);
    t.match(
      await scrapeWaypoint(waypoint),
      /ambit_tracing_spans_dropped_total\{reason="export_failed"\} [1-9]/,
    );
  });
});
