import { parseArgs } from 'node:util';
import type { AnyResource } from '../../api/resources/index.js';
import type { ResourceDefinition } from '../../api/resources/types.js';
import {
  definitionOf,
  objectRef,
  parseAll,
  plainObject,
  resolveKind,
  type StoredObject,
} from '../../local/mesh/store.js';
import { requireRoot } from '../../local/mesh/preflight.js';
import { deletePod, findPod } from '../../local/mesh/workloads.js';
import { readConfigPaths } from '../files.js';
import { openTarget, STATE_DIR_OPTION, STATE_DIR_USAGE } from '../mesh-target.js';
import { age, outputFormat, print } from '../output.js';
import { UsageError, type Command } from '../usage.js';

// The config store commands, as kubectl's: `apply -f`, `delete -f` or by kind and name,
// `get KIND [NAME]`. Every document is checked by the one loader first; one invalid
// document and nothing is written.

export const apply: Command = {
  summary: 'create or update objects in the mesh config store from YAML/JSON files',
  usage: `-f FILE|DIR|- [-f …] ${STATE_DIR_USAGE}`,
  async run(argv) {
    const resources = await readInputs(argv);
    const { values } = parseStateDir(argv);
    requireRoot('ambit apply');
    const mesh = await openTarget(values);
    for (const resource of resources)
      console.log(`${objectRef(resource)} ${await mesh.store.apply(resource)}`);
    return 0;
  },
};

export const del: Command = {
  summary: 'delete objects from the mesh config store (-f FILE, or KIND NAME)',
  usage: `-f FILE|DIR|- [-f …] | KIND NAME… [-n NS] [--ignore-not-found] ${STATE_DIR_USAGE}`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        namespace: { type: 'string', short: 'n' },
        'ignore-not-found': { type: 'boolean' },
        ...STATE_DIR_OPTION,
      },
    });
    const targets: { def: ResourceDefinition; namespace: string; name: string }[] = [];
    if (values.filename) {
      if (positionals.length > 0) throw new UsageError('give -f FILE or KIND NAME, not both');
      for (const r of parseAll(await readInputFiles(values.filename)))
        targets.push({
          def: definitionOf(r),
          namespace: r.metadata.namespace ?? '',
          name: r.metadata.name,
        });
    } else {
      const [kind, ...names] = positionals;
      if (kind === undefined || names.length === 0)
        throw new UsageError('give -f FILE, or a kind and names: delete KIND NAME…');
      const def = kindOrUsage(kind);
      for (const name of names)
        targets.push({ def, namespace: values.namespace ?? 'default', name });
    }
    requireRoot('ambit delete');
    const mesh = await openTarget(values);
    let missing = 0;
    for (const { def, namespace, name } of targets) {
      const ref = `${def.kind.toLowerCase()}/${name}`;
      // A pod the local runtime runs goes whole: its process and network with its object.
      const pod =
        def.type === 'Pod'
          ? await findPod(mesh, namespace, name).catch(() => undefined)
          : undefined;
      if (pod) await deletePod(mesh, pod);
      if ((await mesh.store.delete(def, namespace, name)) || pod) console.log(`${ref} deleted`);
      else if (!values['ignore-not-found']) {
        missing++;
        console.error(
          `${ref}${def.namespaced ? ` in namespace ${namespace}` : ''} not found; \`ambit get ${def.plural}${def.namespaced ? ' -A' : ''}\` lists what there is`,
        );
      }
    }
    return missing > 0 ? 1 : 0;
  },
};

export const get: Command = {
  summary: 'list objects of a kind in the mesh config store',
  usage: `KIND [NAME] [-n NS | -A] [-o json|yaml] ${STATE_DIR_USAGE}   (KIND: pods, svc, ns, vs, dr, gw, gtw, se, we, pa, ap, httproute …)`,
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        'all-namespaces': { type: 'boolean', short: 'A' },
        output: { type: 'string', short: 'o' },
        ...STATE_DIR_OPTION,
      },
    });
    const [kind, name, ...extra] = positionals;
    if (kind === undefined) throw new UsageError('which kind? e.g. get pods -A');
    if (extra.length > 0) throw new UsageError('give at most one name');
    const def = kindOrUsage(kind);
    const format = outputFormat(values.output);
    const namespace = values['all-namespaces'] ? undefined : (values.namespace ?? 'default');
    const mesh = await openTarget(values);
    const found = (await mesh.store.list()).filter(
      (o) =>
        o.definition === def &&
        (name === undefined || o.resource.metadata.name === name) &&
        (!def.namespaced || namespace === undefined || o.resource.metadata.namespace === namespace),
    );
    if (name !== undefined && found.length === 0) {
      console.error(
        `${def.kind.toLowerCase()}/${name} not found${def.namespaced && namespace ? ` in namespace ${namespace}` : ''}`,
      );
      return 1;
    }
    const objects = found.map((o) => plainObject(o.resource));
    const data =
      name !== undefined ? objects[0] : { apiVersion: 'v1', kind: 'List', items: objects };
    const showNamespace = def.namespaced && namespace === undefined;
    const [headers, row] = columns(def);
    print(
      format,
      data,
      [...(showNamespace ? ['NAMESPACE'] : []), 'NAME', ...headers, 'AGE'],
      found.map((o) => [
        ...(showNamespace ? [o.resource.metadata.namespace ?? ''] : []),
        o.resource.metadata.name,
        ...row(o),
        age(o.resource.metadata.creationTimestamp),
      ]),
      def.namespaced && namespace !== undefined
        ? `No resources found in ${namespace} namespace.`
        : 'No resources found.',
    );
    return 0;
  },
};

/** The columns kubectl shows for a kind, beyond name and age. */
function columns(def: ResourceDefinition): [string[], (o: StoredObject) => string[]] {
  switch (def.type) {
    case 'Namespace':
      return [['LABELS'], (o) => [labelText(o.resource)]];
    case 'Pod':
      return [
        ['STATUS', 'IP', 'NODE'],
        (o) => {
          const status = (o.resource.status ?? {}) as { phase?: string; podIP?: string };
          const spec = o.resource.spec as { nodeName?: string };
          return [status.phase ?? 'Pending', status.podIP ?? '<none>', spec.nodeName ?? '<none>'];
        },
      ];
    case 'Service':
      return [
        ['CLUSTER-IP', 'PORT(S)'],
        (o) => {
          const spec = o.resource.spec as { clusterIP?: string; ports?: { port: number }[] };
          return [
            spec.clusterIP ?? '<none>',
            (spec.ports ?? []).map((p) => `${p.port}/TCP`).join(',') || '<none>',
          ];
        },
      ];
    case 'KubernetesGateway':
      return [
        ['CLASS'],
        (o) => [(o.resource.spec as { gatewayClassName?: string }).gatewayClassName ?? ''],
      ];
    case 'VirtualService':
      return [
        ['HOSTS'],
        (o) => [((o.resource.spec as { hosts?: string[] }).hosts ?? []).join(',')],
      ];
    case 'DestinationRule':
      return [['HOST'], (o) => [(o.resource.spec as { host?: string }).host ?? '']];
    case 'AuthorizationPolicy':
      return [['ACTION'], (o) => [(o.resource.spec as { action?: string }).action ?? 'ALLOW']];
    default:
      return [[], () => []];
  }
}

function labelText(resource: AnyResource): string {
  const labels = Object.entries(resource.metadata.labels ?? {});
  return labels.length === 0 ? '<none>' : labels.map(([k, v]) => `${k}=${v}`).join(',');
}

function kindOrUsage(kind: string): ResourceDefinition {
  const def = resolveKind(kind);
  if (def === undefined)
    throw new UsageError(
      `unknown kind ${JSON.stringify(kind)}; the mesh knows namespaces (ns), pods (po), services (svc), serviceaccounts (sa), virtualservices (vs), destinationrules (dr), gateways (gw), serviceentries (se), workloadentries (we), peerauthentications (pa), authorizationpolicies (ap), gateways.gateway.networking.k8s.io (gtw), httproutes`,
    );
  return def;
}

function parseStateDir(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: { filename: { type: 'string', short: 'f', multiple: true }, ...STATE_DIR_OPTION },
  });
}

async function readInputs(argv: string[]): Promise<AnyResource[]> {
  const { values, positionals } = parseStateDir(argv);
  if (positionals.length > 0)
    throw new UsageError(`unexpected ${positionals.join(' ')}; give files with -f`);
  if (!values.filename?.length) throw new UsageError('no input: give at least one -f FILE|DIR|-');
  return parseAll(await readInputFiles(values.filename));
}

/** The files behind -f; one that cannot be read is a mistake on the command line. */
async function readInputFiles(paths: string[]) {
  try {
    return await readConfigPaths(paths);
  } catch (err) {
    throw new UsageError(`cannot read ${paths.join(', ')}: ${(err as Error).message}`);
  }
}
