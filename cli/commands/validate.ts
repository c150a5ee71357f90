import { parseArgs } from 'node:util';
import { parseResources } from '../../api/resources/index.js';
import { readConfigPaths } from '../files.js';
import { UsageError, type Command } from '../usage.js';

/**
 * `ambit validate -f PATH…`: every document checked with the same validation the control
 * plane applies. One line per error (file:line: Kind ns/name: field: reason); exit 1 if any.
 */
export const validate: Command = {
  summary: 'check Kubernetes and Istio YAML the way the control plane will',
  usage: '-f PATH [-f PATH…] [PATH…]   (files, directories, or - for stdin)',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: { filename: { type: 'string', short: 'f', multiple: true } },
      allowPositionals: true,
    });
    const paths = [...(values.filename ?? []), ...positionals];
    if (paths.length === 0) throw new UsageError('no input: give at least one -f PATH');

    let resources = 0;
    let errors = 0;
    for (const { file, text } of await readConfigPaths(paths)) {
      const result = parseResources(text, file);
      resources += result.resources.length;
      for (const error of result.errors) {
        errors++;
        console.log(error.message);
      }
    }
    if (errors > 0) {
      console.error(`${errors} error(s); ${resources} valid resource(s)`);
      return 1;
    }
    console.error(`${resources} resource(s) valid`);
    return 0;
  },
};
