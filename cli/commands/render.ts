import { toJson } from '@bufbuild/protobuf';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { AuthorizationSchema } from '../../api/gen/istio/security/authorization_pb.js';
import { AddressSchema } from '../../api/gen/istio/workload/workload_pb.js';
import { AmbientIndex } from '../../controlplane/ambient/index.js';
import { ConfigView } from '../../core/config/config-view.js';
import { DirectorySource } from '../../core/config/directory.js';
import { createLogger } from '../../core/telemetry/log.js';
import { createRegistry } from '../../core/telemetry/metrics.js';
import { readableAddresses } from '../readable.js';
import { UsageError, type Command } from '../usage.js';

const TYPES = ['address', 'authorization'] as const;
const FORMATS = ['yaml', 'json'] as const;

/**
 * `ambit x render`: the resources the control plane would push for a config directory,
 * computed by the same source, model and ambient index the control plane runs.
 */
export const render: Command = {
  summary: 'print the xDS resources the control plane would push for a config directory',
  usage:
    '--config DIR --type address|authorization [-o yaml|json] [--root-namespace NS] [--trust-domain TD]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        type: { type: 'string' },
        output: { type: 'string', short: 'o', default: 'yaml' },
        'root-namespace': { type: 'string', default: 'istio-system' },
        'trust-domain': { type: 'string', default: 'cluster.local' },
        'cluster-id': { type: 'string', default: 'Kubernetes' },
        'domain-suffix': { type: 'string', default: 'cluster.local' },
      },
    });
    if (!values.config) throw new UsageError('--config DIR is required');
    const type = values.type as (typeof TYPES)[number] | undefined;
    if (!type || !TYPES.includes(type))
      throw new UsageError(`--type must be one of ${TYPES.join(', ')}`);
    const format = values.output as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw new UsageError(`-o must be one of ${FORMATS.join(', ')}`);

    const logger = createLogger('render');
    const source = new DirectorySource({
      directory: resolve(values.config),
      logger,
      registry: createRegistry(),
    });
    const view = new ConfigView();
    source.subscribe((event) => view.apply(event));
    await source.start();
    await source.stop();
    for (const error of view.rejections()) console.error(`rejected: ${error.message}`);

    const index = new AmbientIndex({
      logger,
      rootNamespace: values['root-namespace'],
      trustDomain: values['trust-domain'],
      clusterId: values['cluster-id'],
      domainSuffix: values['domain-suffix'],
    });
    index.updateFromResources(view.resources());
    const resources =
      type === 'address'
        ? [...index.addresses()].map(([name, m]) => ({ name, resource: toJson(AddressSchema, m) }))
        : [...index.authorizations()].map(([name, m]) => ({
            name,
            resource: toJson(AuthorizationSchema, m),
          }));
    resources.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const readable = readableAddresses(resources);
    process.stdout.write(
      format === 'json' ? `${JSON.stringify(readable, null, 2)}\n` : stringify(readable),
    );
    return view.rejections().length > 0 ? 1 : 0;
  },
};
