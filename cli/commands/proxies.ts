import { parseArgs } from 'node:util';
import type { LocalMesh } from '../../local/mesh/mesh.js';
import { controlPlaneConnections, meshProxies, ztunnelDumps } from '../../local/mesh/proxies.js';
import { requireRoot } from '../../local/mesh/preflight.js';
import { openTarget, STATE_DIR_OPTION, STATE_DIR_USAGE } from '../mesh-target.js';
import { outputFormat, print } from '../output.js';
import { UsageError, type Command } from '../usage.js';

// Operator commands that read proxies: what each ztunnel holds (`ztunnel-config`) and
// whether every proxy holds what the control plane has for it (`proxy-status`).

const ZTUNNEL_VIEWS = ['workloads', 'services', 'policies', 'certificates', 'connections'] as const;
type ZtunnelView = (typeof ZTUNNEL_VIEWS)[number];

interface DumpedWorkload {
  name: string;
  namespace: string;
  addresses: string[];
  node: string;
  protocol: string;
  serviceAccount: string;
  waypoint?: { address: string };
}
interface DumpedService {
  name: string;
  namespace: string;
  vips: string[];
  ports: { servicePort: number; targetPort: number }[];
  waypoint?: { address: string };
  endpoints: { healthy: boolean }[];
}
interface DumpedPolicy {
  name: string;
  namespace: string;
  scope: string;
  action: string;
  groups: unknown[];
}

export const ztunnelConfig: Command = {
  summary:
    'show what the node tunnels hold: workloads, services, policies, certificates, connections',
  usage: `${ZTUNNEL_VIEWS.join('|')} [--node NODE] [-o json|yaml] ${STATE_DIR_USAGE}`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        node: { type: 'string' },
        output: { type: 'string', short: 'o' },
        ...STATE_DIR_OPTION,
      },
    });
    const [view, ...extra] = positionals as [ZtunnelView | undefined, ...string[]];
    if (view === undefined || !ZTUNNEL_VIEWS.includes(view) || extra.length > 0)
      throw new UsageError(`say what to show: one of ${ZTUNNEL_VIEWS.join(', ')}`);
    const format = outputFormat(values.output);
    requireRoot('ambit ztunnel-config');
    const mesh = await openTarget(values);
    const dumps = await ztunnelDumps(mesh, values.node);
    const entries = dumps.flatMap(({ node, dump }) =>
      ((dump[view] ?? []) as Record<string, unknown>[]).map((entry) => ({ node, ...entry })),
    );
    const [headers, row] = ztunnelColumns(view);
    print(
      format,
      entries,
      ['NODE', ...headers],
      entries.map((e) => [e.node, ...row(e)]),
      `No ${view}.`,
    );
    return 0;
  },
};

function ztunnelColumns(view: ZtunnelView): [string[], (e: Record<string, unknown>) => string[]] {
  switch (view) {
    case 'workloads':
      return [
        ['NAMESPACE', 'NAME', 'ADDRESS', 'WORKLOAD NODE', 'PROTOCOL', 'WAYPOINT'],
        (e) => {
          const w = e as unknown as DumpedWorkload;
          return [
            w.namespace,
            w.name,
            w.addresses.join(',') || 'None',
            w.node || 'None',
            w.protocol,
            w.waypoint?.address ?? 'None',
          ];
        },
      ];
    case 'services':
      return [
        ['NAMESPACE', 'NAME', 'VIPS', 'PORTS', 'WAYPOINT', 'ENDPOINTS'],
        (e) => {
          const s = e as unknown as DumpedService;
          const healthy = s.endpoints.filter((p) => p.healthy).length;
          return [
            s.namespace,
            s.name,
            s.vips.join(',') || 'None',
            s.ports.map((p) => `${p.servicePort}->${p.targetPort}`).join(',') || 'None',
            s.waypoint?.address ?? 'None',
            `${healthy}/${s.endpoints.length}`,
          ];
        },
      ];
    case 'policies':
      return [
        ['NAMESPACE', 'NAME', 'ACTION', 'SCOPE', 'RULES'],
        (e) => {
          const p = e as unknown as DumpedPolicy;
          return [p.namespace, p.name, p.action, p.scope, String(p.groups.length)];
        },
      ];
    case 'certificates':
      return [
        ['IDENTITY', 'STATE', 'NOT AFTER'],
        (e) => [String(e.identity), String(e.state), String(e.notAfter ?? 'None')],
      ];
    case 'connections':
      return [
        ['DIRECTION', 'SOURCE', 'DESTINATION', 'STARTED'],
        (e) => [
          String(e.direction),
          String(e.source),
          String(e.destination),
          new Date(Number(e.startedAt)).toISOString(),
        ],
      ];
  }
}

interface ClientInfo {
  nodeId?: string;
  identity: string;
  connectedAt: string;
  types: { typeUrl: string; status: string; ackedVersion?: string }[];
}

/** A proxy's row: its name, type, and per type URL its status and the version it ACKed. */
interface ProxyStatus {
  name: string;
  type: string;
  nodeId: string | undefined;
  identity: string | undefined;
  connected: boolean;
  types: Record<string, { status: string; version: string | undefined }>;
}

export const proxyStatus: Command = {
  summary: "whether every proxy holds the control plane's current config (SYNCED, STALE, NOT SENT)",
  usage: `[-o json|yaml] ${STATE_DIR_USAGE}`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { output: { type: 'string', short: 'o' }, ...STATE_DIR_OPTION },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected ${positionals.join(' ')}`);
    const format = outputFormat(values.output);
    const mesh = await openTarget(values);
    const statuses = await proxyStatuses(mesh);
    const typeNames = [...new Set(statuses.flatMap((s) => Object.keys(s.types)))].sort();
    print(
      format,
      statuses,
      ['NAME', 'TYPE', ...typeNames.map((t) => t.toUpperCase())],
      statuses.map((s) => [s.name, s.type, ...typeNames.map((t) => cell(s, t))]),
      'No proxies.',
    );
    return statuses.every((s) => s.connected) ? 0 : 1;
  },
};

/** `SYNCED (3f9a1c2b)`: the status and the first digits of the version the proxy ACKed. */
function cell(status: ProxyStatus, type: string): string {
  if (!status.connected) return 'NOT CONNECTED';
  const entry = status.types[type];
  if (entry === undefined) return '-'; // It does not subscribe to this type.
  return entry.version ? `${entry.status} (${entry.version.slice(0, 8)})` : entry.status;
}

async function proxyStatuses(mesh: LocalMesh): Promise<ProxyStatus[]> {
  const clients = (await controlPlaneConnections(mesh)) as ClientInfo[];
  const expected = await meshProxies(mesh);
  const rows: ProxyStatus[] = [];
  const seen = new Set<ClientInfo>();
  for (const proxy of expected) {
    const client = clients.find((c) => c.nodeId === proxy.nodeId);
    if (client) seen.add(client);
    rows.push(row(proxy.name, proxy.type, proxy.nodeId, client));
  }
  for (const client of clients) {
    if (seen.has(client)) continue;
    const [type = 'proxy', name = client.identity] = (client.nodeId ?? '').split('~');
    rows.push(row(`${type}/${name}`, type, client.nodeId, client));
  }
  return rows;
}

function row(
  name: string,
  type: string,
  nodeId: string | undefined,
  client: ClientInfo | undefined,
): ProxyStatus {
  const types: ProxyStatus['types'] = {};
  for (const t of client?.types ?? [])
    types[shortType(t.typeUrl)] = { status: t.status, version: t.ackedVersion };
  return { name, type, nodeId, identity: client?.identity, connected: client !== undefined, types };
}

/** `type.googleapis.com/istio.workload.Address` → `Address`. */
function shortType(typeUrl: string): string {
  return typeUrl.slice(typeUrl.lastIndexOf('.') + 1);
}
