import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { resolveStateDir } from '../../local/mesh/layout.js';
import { meshDown, meshUp, type LocalMesh } from '../../local/mesh/mesh.js';
import { requireRoot } from '../../local/mesh/preflight.js';
import { isAlive } from '../../local/mesh/supervisor.js';
import { startIngressGateway } from '../../local/mesh/gateway.js';
import {
  execInPod,
  findPod,
  listPods,
  runPod,
  type PodRecord,
} from '../../local/mesh/workloads.js';
import { AMBIT_BIN, openTarget, STATE_DIR_OPTION } from '../mesh-target.js';
import { outputFormat, print } from '../output.js';
import { UsageError, type Command } from '../usage.js';

const USAGE = `<up|run|exec|logs|status|down> [flags]
  up [--nodes N] [--state-dir DIR]                 start a mesh: nodes, control plane, a node agent and
                                                   ztunnel per node, the ingress gateway in istio-system
                                                   (state: DIR, default /run/ambit/local)
  run --namespace NS --name NAME [--labels k=v,…] [--service-account SA] [--node NODE]
      [--port P …] -- CMD…                         start a pod running CMD as user nobody
  exec POD [--namespace NS] -- CMD…                run CMD inside a pod's network (POD: ns/name or name)
  logs POD [--namespace NS] [-f]                   print (or follow) a pod's output
  status [-o json|yaml]                            every process of the mesh and whether it runs
  down [--state-dir DIR]                           remove everything the mesh made (works after a crash)
every subcommand takes --state-dir DIR (or $AMBIT_STATE_DIR)`;

const progress = (line: string): void => console.error(`• ${line}`);

/** `ambit local …`: the mesh on this host, as a product. */
export const local: Command = {
  summary: 'run a mesh on this host: up, run, exec, logs, status, down',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    const subcommand = sub === undefined ? undefined : subcommands[sub];
    if (!subcommand)
      throw new UsageError(
        sub === undefined ? 'which subcommand?' : `unknown subcommand ${JSON.stringify(sub)}`,
      );
    return subcommand(rest);
  },
};

const subcommands: Record<string, (argv: string[]) => Promise<number>> = {
  async up(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { nodes: { type: 'string', default: '2' }, ...STATE_DIR_OPTION },
    });
    const nodes = Number(values.nodes);
    if (!Number.isInteger(nodes) || nodes < 1 || nodes > 200)
      throw new UsageError(`--nodes must be a whole number from 1 to 200, not ${values.nodes}`);
    const stateDir = resolveStateDir(values['state-dir']);
    // Parts that are pods of the mesh (the ingress gateway: `ambit gateway` in istio-system,
    // labelled istio=ingressgateway) start through meshUp's `addons` hook, after the core.
    let gateway: PodRecord | undefined;
    const mesh = await meshUp({
      stateDir,
      nodes,
      ambitBin: AMBIT_BIN,
      progress,
      addons: async (mesh, progress) => void (gateway = await startIngressGateway(mesh, progress)),
    });
    const dirFlag = values['state-dir'] ? ` --state-dir ${stateDir}` : '';
    console.log(
      [
        `local mesh up: ${nodes} node(s) (${mesh.cluster.nodes.map((n) => n.name).join(', ')}), state in ${stateDir}`,
        `control plane ${mesh.record.controlPlane.address}, monitoring ${mesh.record.controlPlane.monitoringUrl}`,
        `ingress gateway ${gateway!.namespace}/${gateway!.name} at ${gateway!.ip} (Gateways' ports, e.g. http://${gateway!.ip}:80/, reachable from this host)`,
        '',
        'next:',
        `  ambit apply${dirFlag} -f namespace.yaml          (label it istio.io/dataplane-mode=ambient)`,
        `  ambit local run${dirFlag} --namespace NS --name NAME --labels app=NAME --port 8080 -- CMD…`,
        `  ambit local exec${dirFlag} NS/NAME -- curl http://<service VIP>:PORT/`,
        `  ambit get${dirFlag} svc -A     ambit proxy-status${dirFlag}     ambit local down${dirFlag}`,
      ].join('\n'),
    );
    return 0;
  },

  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        name: { type: 'string' },
        labels: { type: 'string', short: 'l' },
        'service-account': { type: 'string' },
        node: { type: 'string' },
        port: { type: 'string', short: 'p', multiple: true },
        ...STATE_DIR_OPTION,
      },
    });
    if (!values.namespace || !values.name)
      throw new UsageError('--namespace NS and --name NAME are required');
    if (positionals.length === 0) throw new UsageError('give the command after --: -- CMD…');
    const ports = (values.port ?? []).map((p) => {
      const port = Number(p);
      if (!Number.isInteger(port) || port < 1 || port > 65535)
        throw new UsageError(`--port must be a port number, not ${p}`);
      return port;
    });
    const mesh = await openRoot(values);
    const pod = await runPod(mesh, {
      namespace: values.namespace,
      name: values.name,
      labels: parseLabels(values.labels),
      ...(values['service-account'] ? { serviceAccount: values['service-account'] } : {}),
      ...(values.node ? { node: values.node } : {}),
      ports,
      command: positionals,
    });
    console.log(
      `pod/${pod.name} running in ${pod.namespace} on ${pod.node}, IP ${pod.ip}; logs: ambit local logs ${pod.namespace}/${pod.name}`,
    );
    return 0;
  },

  async exec(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { namespace: { type: 'string', short: 'n' }, ...STATE_DIR_OPTION },
    });
    const [target, ...command] = positionals;
    if (target === undefined || command.length === 0)
      throw new UsageError('give a pod and a command: exec POD -- CMD…');
    const mesh = await openRoot(values);
    const [namespace, name] = podName(target, values.namespace);
    return execInPod(await findPod(mesh, namespace, name), command);
  },

  async logs(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        follow: { type: 'boolean', short: 'f' },
        ...STATE_DIR_OPTION,
      },
    });
    const [target] = positionals;
    if (target === undefined || positionals.length > 1)
      throw new UsageError('give one pod: logs POD');
    const mesh = await openTarget(values);
    const [namespace, name] = podName(target, values.namespace);
    const pod = await findPod(mesh, namespace, name);
    const child = spawn('tail', [...(values.follow ? ['-f'] : []), '-n', '+1', pod.log], {
      stdio: 'inherit',
    });
    return new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => resolve(code ?? 0));
    });
  },

  async status(argv) {
    const { values } = parseArgs({
      args: argv,
      options: { output: { type: 'string', short: 'o' }, ...STATE_DIR_OPTION },
    });
    const format = outputFormat(values.output);
    const mesh = await openTarget(values);
    const rows: { name: string; pid: number; running: boolean; log: string }[] = [];
    for (const p of mesh.record.processes)
      rows.push({ name: p.name, pid: p.ref.pid, running: await isAlive(p.ref), log: p.log });
    for (const pod of await listPods(mesh))
      if (pod.process)
        rows.push({
          name: `pod/${pod.namespace}/${pod.name}`,
          pid: pod.process.pid,
          running: await isAlive(pod.process),
          log: pod.log,
        });
    print(
      format,
      rows,
      ['PROCESS', 'PID', 'STATE', 'LOG'],
      rows.map((r) => [r.name, String(r.pid), r.running ? 'Running' : 'Exited', r.log]),
    );
    return rows.every((r) => r.running) ? 0 : 1;
  },

  async down(argv) {
    const { values } = parseArgs({ args: argv, options: { ...STATE_DIR_OPTION } });
    requireRoot('ambit local down');
    const stateDir = resolveStateDir(values['state-dir']);
    progress(`removing the local mesh in ${stateDir}`);
    const report = await meshDown(stateDir);
    console.log(
      report.prefixes.length === 0
        ? `nothing to remove in ${stateDir}`
        : `local mesh removed (cluster ${report.prefixes.join(', ')}): namespaces, links, firewall rules, processes and ${stateDir}`,
    );
    return 0;
  },
};

async function openRoot(values: { 'state-dir'?: string | undefined }): Promise<LocalMesh> {
  requireRoot('this command');
  return openTarget(values);
}

/** `ns/name`, or `name` in `--namespace` (default `default`), as kubectl reads a pod. */
function podName(text: string, namespace: string | undefined): [string, string] {
  const slash = text.indexOf('/');
  if (slash < 0) return [namespace ?? 'default', text];
  if (namespace !== undefined && namespace !== text.slice(0, slash))
    throw new UsageError(
      `${text} names namespace ${text.slice(0, slash)}, --namespace says ${namespace}`,
    );
  return [text.slice(0, slash), text.slice(slash + 1)];
}

/** `k=v,k2=v2` → labels. */
export function parseLabels(text: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of (text ?? '').split(',').filter((p) => p !== '')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--labels wants k=v pairs separated by commas, not ${pair}`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}
