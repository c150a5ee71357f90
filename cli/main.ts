import { MeshError } from '../core/errors.js';
import { UsageError, type Command, type ExitCode } from './usage.js';
import { analyze } from './commands/analyze.js';
import { cniAgent } from './commands/cni-agent.js';
import { controlplane } from './commands/controlplane.js';
import { gateway } from './commands/gateway.js';
import { validate } from './commands/validate.js';
import { explain } from './commands/explain.js';
import { render } from './commands/render.js';
import { waypoint } from './commands/waypoint.js';
import { ztunnel } from './commands/ztunnel.js';
import { local } from './commands/local.js';
import { apply, del, get } from './commands/store.js';
import { proxyStatus, ztunnelConfig } from './commands/proxies.js';

const commands: Record<string, Command> = {
  controlplane,
  'cni-agent': cniAgent,
  ztunnel,
  waypoint,
  gateway,
  validate,
  analyze,
  local,
  apply,
  delete: del,
  get,
  'ztunnel-config': ztunnelConfig,
  'proxy-status': proxyStatus,
};
const experimental: Record<string, Command> = { render, explain };

function help(): string {
  const lines = ['usage: ambit <command> [flags]', '', 'commands:'];
  for (const [name, c] of Object.entries(commands)) lines.push(`  ${name.padEnd(14)} ${c.summary}`);
  for (const [name, c] of Object.entries(experimental))
    lines.push(`  x ${name.padEnd(12)} ${c.summary}`);
  lines.push('', "run 'ambit <command> --help' for a command's flags");
  return lines.join('\n');
}

function find(argv: string[]): { name: string; command: Command; rest: string[] } | undefined {
  const [first, second, ...rest] = argv;
  if (first === 'x' && second !== undefined) {
    const command = experimental[second];
    return command && { name: `x ${second}`, command, rest };
  }
  const command = first === undefined ? undefined : commands[first];
  return command && first !== undefined ? { name: first, command, rest: argv.slice(1) } : undefined;
}

/** Runs one `ambit` invocation and returns its exit code. */
export async function main(argv: string[]): Promise<ExitCode> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    console.log(help());
    return 0;
  }
  const found = find(argv);
  if (!found) {
    console.error(`ambit: unknown command '${argv.slice(0, 2).join(' ')}'\n\n${help()}`);
    return 2;
  }
  // After `--` the words are a command's own (`ambit local exec POD -- curl --help`).
  const dash = found.rest.indexOf('--');
  const flags = dash < 0 ? found.rest : found.rest.slice(0, dash);
  if (flags.includes('--help') || flags.includes('-h')) {
    console.log(`usage: ambit ${found.name} ${found.command.usage}`);
    return 0;
  }
  try {
    return await found.command.run(found.rest);
  } catch (err) {
    if (err instanceof UsageError || isParseArgsError(err)) {
      console.error(
        `ambit ${found.name}: ${(err as Error).message}\nusage: ambit ${found.name} ${found.command.usage}`,
      );
      return 2;
    }
    if (err instanceof MeshError) {
      // An expected failure (bad state dir, unreadable token file …): its message says what
      // to fix, so no stack trace.
      console.error(`ambit ${found.name}: ${err.message}`);
      return 1;
    }
    throw err;
  }
}

function isParseArgsError(err: unknown): boolean {
  const code: unknown = (err as { code?: unknown } | null)?.code;
  return err instanceof TypeError && typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}
