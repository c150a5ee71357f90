import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { explain as explainRequest } from '../explain/explain.js';
import { renderExplanation } from '../explain/render.js';
import { servedFromDirectory } from '../explain/served.js';
import { waypointAuthorizer } from '../explain/waypoint-authorizer.js';
import { UsageError, type Command } from '../usage.js';

const FORMATS = ['text', 'json', 'yaml'] as const;

function header(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new UsageError(`-H ${text}: must be NAME:VALUE`);
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

/**
 * `ambit x explain`: what the mesh would do with one request, computed offline from a
 * config directory with the control plane's own model and the proxies' own decisions.
 */
export const explain: Command = {
  summary: 'explain what the mesh does with one request, step by step',
  usage:
    '--from WORKLOAD --to HOST:PORT [--method M] [--path P] [-H NAME:VALUE …] --config DIR [-o text|json|yaml] [--root-namespace NS]',
  async run(argv) {
    const { values } = parseArgs({
      args: argv,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        method: { type: 'string', default: 'GET' },
        path: { type: 'string', default: '/' },
        header: { type: 'string', short: 'H', multiple: true },
        config: { type: 'string' },
        output: { type: 'string', short: 'o', default: 'text' },
        'root-namespace': { type: 'string', default: 'istio-system' },
        'trust-domain': { type: 'string', default: 'cluster.local' },
        'cluster-id': { type: 'string', default: 'Kubernetes' },
        'domain-suffix': { type: 'string', default: 'cluster.local' },
      },
    });
    if (!values.from) throw new UsageError('--from WORKLOAD is required (namespace/name or IP)');
    if (!values.to) throw new UsageError('--to HOST:PORT is required');
    if (!values.config) throw new UsageError('--config DIR is required');
    const format = values.output as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw new UsageError(`-o must be one of ${FORMATS.join(', ')}`);
    const headers = Object.fromEntries((values.header ?? []).map(header));

    const { served, rejections } = await servedFromDirectory(values.config, {
      rootNamespace: values['root-namespace'],
      trustDomain: values['trust-domain'],
      clusterId: values['cluster-id'],
      domainSuffix: values['domain-suffix'],
    });
    for (const error of rejections)
      console.error(`rejected (the control plane ignores it too): ${error.message}`);
    const explanation = explainRequest(
      served,
      {
        from: values.from,
        to: values.to,
        method: values.method,
        path: values.path,
        headers,
      },
      { l7: waypointAuthorizer },
    );
    if (format === 'json') process.stdout.write(`${JSON.stringify(explanation, null, 2)}\n`);
    else if (format === 'yaml') process.stdout.write(stringify(explanation));
    else process.stdout.write(`${renderExplanation(explanation)}\n`);
    return 0;
  },
};
