import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { parseResources } from '../../api/resources/index.js';
import type { AnyResource, ResourceError } from '../../api/resources/index.js';
import { analyze as analyzeConfig } from '../../controlplane/analyze/analyze.js';
import {
  atLeast,
  describeResource,
  LEVELS,
  type AnalysisLevel,
  type AnalysisMessage,
} from '../../controlplane/analyze/message.js';
import { readConfigPaths } from '../files.js';
import { formatTable } from '../table.js';
import { UsageError, type Command } from '../usage.js';

const FORMATS = ['table', 'json', 'yaml'] as const;

/** istioctl analyze's exit code when it finds issues at or above the failure threshold. */
export const EXIT_ISSUES_FOUND = 79;

function where(m: AnalysisMessage): string {
  const { file, line } = m.resource;
  const at = file === undefined ? '' : line === undefined ? ` (${file})` : ` (${file}:${line})`;
  return `${describeResource(m.resource)}${at}`;
}

function table(messages: readonly AnalysisMessage[]): string {
  return formatTable(
    ['CODE', 'LEVEL', 'RESOURCE', 'MESSAGE'],
    messages.map((m) => [
      m.code,
      m.level,
      where(m),
      `${m.field === undefined ? '' : `${m.field}: `}${m.message}. Fix: ${m.fix}`,
    ]),
  );
}

function summary(messages: readonly AnalysisMessage[], resources: number): string {
  if (messages.length === 0)
    return `✔ No validation issues found when analyzing ${resources} resource(s).`;
  const count = (level: AnalysisLevel) => messages.filter((m) => m.level === level).length;
  return `${count('Error')} error(s), ${count('Warning')} warning(s), ${count('Info')} info message(s) in ${resources} resource(s)`;
}

/**
 * `ambit analyze`: validation (the one loader, line-numbered) and cross-object checks with
 * Istio's analyzer codes where they exist (controlplane/analyze). Exit 79, as istioctl
 * analyze, when a finding reaches --failure-threshold (default Error).
 */
export const analyze: Command = {
  summary: 'find problems in Kubernetes and Istio config: validation and cross-object checks',
  usage:
    '[-f FILE|DIR …] [--config DIR] [-o table|json|yaml] [--failure-threshold Info|Warning|Error] [--root-namespace NS]',
  async run(argv) {
    const { values, positionals } = parseArgs({
      args: argv,
      options: {
        filename: { type: 'string', short: 'f', multiple: true },
        config: { type: 'string' },
        output: { type: 'string', short: 'o', default: 'table' },
        'failure-threshold': { type: 'string', default: 'Error' },
        'root-namespace': { type: 'string', default: 'istio-system' },
        'trust-domain': { type: 'string', default: 'cluster.local' },
        'domain-suffix': { type: 'string', default: 'cluster.local' },
      },
      allowPositionals: true,
    });
    const paths = [
      ...(values.filename ?? []),
      ...(values.config === undefined ? [] : [values.config]),
      ...positionals,
    ];
    if (paths.length === 0) throw new UsageError('no input: give -f FILE|DIR or --config DIR');
    const format = values.output as (typeof FORMATS)[number];
    if (!FORMATS.includes(format)) throw new UsageError(`-o must be one of ${FORMATS.join(', ')}`);
    const threshold = values['failure-threshold'] as AnalysisLevel;
    if (!LEVELS.includes(threshold))
      throw new UsageError(`--failure-threshold must be one of ${LEVELS.join(', ')}`);

    const resources: AnyResource[] = [];
    const errors: ResourceError[] = [];
    for (const { file, text } of await readConfigPaths(paths)) {
      const result = parseResources(text, file);
      resources.push(...result.resources);
      errors.push(...result.errors);
    }
    const messages = analyzeConfig(
      { resources, errors },
      {
        rootNamespace: values['root-namespace'],
        trustDomain: values['trust-domain'],
        domainSuffix: values['domain-suffix'],
      },
    );
    if (format === 'json') process.stdout.write(`${JSON.stringify(messages, null, 2)}\n`);
    else if (format === 'yaml') process.stdout.write(stringify(messages));
    else if (messages.length > 0) process.stdout.write(`${table(messages)}\n`);
    console.error(summary(messages, resources.length));
    return messages.some((m) => atLeast(m.level, threshold)) ? EXIT_ISSUES_FOUND : 0;
  },
};
