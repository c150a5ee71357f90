import { parseArgs } from 'node:util';
import { requireRoot } from '../../local/mesh/preflight.js';
import {
  applyWaypoint,
  deleteWaypoint,
  waypointStatuses,
  type WaypointFor,
} from '../../local/mesh/waypoints.js';
import { openTarget, STATE_DIR_OPTION, STATE_DIR_USAGE } from '../mesh-target.js';
import { outputFormat, print } from '../output.js';
import { UsageError, type Command } from '../usage.js';

export const WAYPOINT_OPERATIONS = ['apply', 'list', 'delete', 'status'] as const;
const FOR: readonly WaypointFor[] = ['service', 'workload', 'all', 'none'];

/** `istioctl waypoint`'s operations on the mesh: apply, list, delete, status. */
export const waypointOperator: Command = {
  summary: 'manage waypoints',
  usage: `apply [--namespace NS] [--name NAME] [--for service|workload|all|none] [--enroll-namespace] [--node NODE]
       list|status [--namespace NS | -A] [-o json|yaml]
       delete [--namespace NS] [--name NAME]
       (each takes ${STATE_DIR_USAGE})`,
  async run(argv) {
    const [operation, ...rest] = argv;
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        namespace: { type: 'string', short: 'n' },
        name: { type: 'string' },
        for: { type: 'string' },
        'enroll-namespace': { type: 'boolean' },
        node: { type: 'string' },
        'all-namespaces': { type: 'boolean', short: 'A' },
        output: { type: 'string', short: 'o' },
        ...STATE_DIR_OPTION,
      },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected ${positionals.join(' ')}`);
    const namespace = values.namespace ?? 'default';
    const name = values.name ?? 'waypoint';
    const forValue = values.for as WaypointFor | undefined;
    if (forValue !== undefined && !FOR.includes(forValue))
      throw new UsageError(`--for must be one of ${FOR.join(', ')}, not ${values.for}`);
    if (operation === 'apply' || operation === 'delete') requireRoot(`ambit waypoint ${operation}`);
    const mesh = await openTarget(values);

    if (operation === 'apply') {
      const status = await applyWaypoint(
        mesh,
        {
          namespace,
          name,
          ...(forValue ? { for: forValue } : {}),
          ...(values['enroll-namespace'] ? { enrollNamespace: true } : {}),
          ...(values.node ? { node: values.node } : {}),
        },
        (line) => console.error(`• ${line}`),
      );
      console.log(
        `waypoint ${namespace}/${name} applied: ${status.state}, address ${status.address ?? 'none'}`,
      );
      if (values['enroll-namespace'])
        console.log(`namespace ${namespace} labeled with "istio.io/use-waypoint: ${name}"`);
      return 0;
    }
    if (operation === 'delete') {
      if (!(await deleteWaypoint(mesh, namespace, name))) {
        console.error(
          `waypoint ${namespace}/${name} not found; \`ambit waypoint list -A\` lists them`,
        );
        return 1;
      }
      console.log(`waypoint ${namespace}/${name} deleted`);
      return 0;
    }
    const format = outputFormat(values.output);
    const statuses = await waypointStatuses(mesh, values['all-namespaces'] ? undefined : namespace);
    print(
      format,
      statuses,
      ['NAMESPACE', 'NAME', 'FOR', 'ADDRESS', 'NODE', 'STATUS'],
      statuses.map((w) => [
        w.namespace,
        w.name,
        w.for,
        w.address ?? '<none>',
        w.node ?? '<none>',
        w.state,
      ]),
      'No waypoints found.',
    );
    return operation === 'status' && statuses.some((w) => w.state !== 'Ready') ? 1 : 0;
  },
};
