import { BOOKINFO, type Shell } from './shell.js';

// Bookinfo as Istio's samples deploy it, on the local mesh: the namespace in ambient mode with
// a waypoint, the four Services, a pod per app version (service accounts bookinfo-<app>),
// the ingress Gateway and VirtualService, and two client pods: one in the mesh, one outside.

export const NAMESPACE = 'bookinfo';
export const PORT = 9080;
/** The client pods: `sleep` holds their network; requests are `ambit local exec … curl`. */
export const CLIENT = `${NAMESPACE}/curl`;
export const OUTSIDE_CLIENT = 'outside/curl';

export interface Bookinfo {
  /** Service name → cluster IP (the local mesh has no DNS: clients use VIPs). */
  vips: Record<string, string>;
  /** Pod name (`productpage-v1`) → pod IP. */
  podIps: Record<string, string>;
  gatewayIp: string;
  /** `http://<productpage VIP>:9080`. */
  productpage: string;
}

const DEPLOYMENTS = [
  ['productpage', 'v1'],
  ['details', 'v1'],
  ['reviews', 'v1'],
  ['reviews', 'v2'],
  ['reviews', 'v3'],
  ['ratings', 'v1'],
] as const;

interface ListedObject {
  metadata: { name: string; namespace?: string };
  spec: { clusterIP?: string };
  status?: { podIP?: string };
}

export async function deployBookinfo(shell: Shell, say: (line: string) => void): Promise<Bookinfo> {
  say('');
  say('== Deploying Bookinfo in the ambient namespace bookinfo, behind a waypoint');
  await shell.apply('namespaces.yaml');
  await shell.apply('bookinfo-services.yaml');
  await shell.ambit(['waypoint', 'apply', '-n', NAMESPACE, '--enroll-namespace'], {
    output: true,
  });
  const vips: Record<string, string> = {};
  for (const item of await list(shell, ['svc', '-n', NAMESPACE]))
    if (item.spec.clusterIP) vips[item.metadata.name] = item.spec.clusterIP;
  const upstream = (name: string) => `http://${vips[name]}:${PORT}`;
  say(
    `  the mesh has no DNS: each app gets its upstreams' VIPs (${Object.entries(vips)
      .map(([n, ip]) => `${n} ${ip}`)
      .join(', ')})`,
  );
  await Promise.all(
    DEPLOYMENTS.map(([app, version], i) => {
      const pod = [
        'local',
        'run',
        '-n',
        NAMESPACE,
        '--name',
        `${app}-${version}`,
        '--labels',
        `app=${app},version=${version}`,
        '--service-account',
        `bookinfo-${app}`,
        '--port',
        String(PORT),
        '--node',
        `node-${(i % 2) + 1}`,
        '--',
      ];
      const program = ['--service', app, '--version', version, '--name', `${app}-${version}`];
      const upstreams = ['details', 'reviews', 'ratings'].flatMap((u) => [`--${u}`, upstream(u)]);
      // Shown as `bookinfo …`: the program is samples/bookinfo/main.ts, run by this node.
      return shell.ambit([...pod, process.execPath, BOOKINFO, ...program, ...upstreams], {
        output: true,
        display: [...pod, 'bookinfo', ...program],
      });
    }),
  );
  for (const [pod, labels] of [
    [CLIENT, 'app=curl'],
    [OUTSIDE_CLIENT, 'app=curl'],
  ] as const) {
    const [namespace, name] = pod.split('/') as [string, string];
    await shell.ambit(
      [
        'local',
        'run',
        '-n',
        namespace,
        '--name',
        name,
        '--labels',
        labels,
        '--service-account',
        'curl',
        '--',
        'sleep',
        'infinity',
      ],
      { output: true },
    );
  }
  say('');
  say("== Exposing productpage through the ingress gateway (Istio's bookinfo-gateway.yaml)");
  await shell.apply('bookinfo-gateway.yaml');
  const podIps: Record<string, string> = {};
  for (const item of await list(shell, ['pods', '-A']))
    if (item.status?.podIP)
      podIps[`${item.metadata.namespace}/${item.metadata.name}`] = item.status.podIP;
  const gatewayIp = podIps['istio-system/istio-ingressgateway-0'];
  if (gatewayIp === undefined) throw new Error('no ingress gateway pod in istio-system');
  const app: Bookinfo = { vips, podIps, gatewayIp, productpage: upstream('productpage') };
  await waitServing(shell, app, say);
  await shell.ambit(['proxy-status'], { output: true });
  return app;
}

/** Until a client in the mesh and the host (through the gateway) both get a whole page. */
async function waitServing(
  shell: Shell,
  app: Bookinfo,
  say: (line: string) => void,
): Promise<void> {
  say('  waiting for the pods to be enrolled and the waypoint and gateway to be serving…');
  const deadline = performance.now() + 60_000;
  let last = '';
  for (;;) {
    const [reply] = await shell.curl(CLIENT, `${app.productpage}/productpage`, {
      show: false,
      timeoutMs: 8000,
    });
    const fromHost = await fetch(`http://${app.gatewayIp}/productpage`, {
      signal: AbortSignal.timeout(8000),
    }).then(
      async (r) => ({ status: r.status, body: await r.text() }),
      (err: unknown) => ({ status: 0, body: String(err) }),
    );
    const whole = (body: string | undefined) => body?.includes('Reviews served by') === true;
    if (
      reply?.status === 200 &&
      whole(reply.body) &&
      fromHost.status === 200 &&
      whole(fromHost.body)
    ) {
      say(`  productpage answers in the mesh and at http://${app.gatewayIp}/productpage`);
      return;
    }
    last = `in the mesh: ${reply?.error ?? `HTTP ${reply?.status}`}; through the gateway: HTTP ${fromHost.status}`;
    if (performance.now() > deadline) throw new Error(`Bookinfo not serving after 60 s (${last})`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function list(shell: Shell, args: readonly string[]): Promise<ListedObject[]> {
  const ran = await shell.ambit(['get', ...args, '-o', 'json'], { show: false });
  return (JSON.parse(ran.stdout) as { items: ListedObject[] }).items;
}
