import { MeshError } from '../core/errors.js';
import { UsageError, type Command, type ExitCode } from './usage.js';
/**
 * Each command's module is loaded only when that command runs: the programs behind them
 * (the control plane's gRPC, the proxies) take a second to load between them, which every
 * short operator command would otherwise pay.
 */
type Load = () => Promise<Command>;

const commands: Record<string, Load> = {
  controlplane: async () => (await import('./commands/controlplane.js')).controlplane,
  'cni-agent': async () => (await import('./commands/cni-agent.js')).cniAgent,
  ztunnel: async () => (await import('./commands/ztunnel.js')).ztunnel,
  waypoint: async () => (await import('./commands/waypoint.js')).waypoint,
  gateway: async () => (await import('./commands/gateway.js')).gateway,
  validate: async () => (await import('./commands/validate.js')).validate,
  analyze: async () => (await import('./commands/analyze.js')).analyze,
  local: async () => (await import('./commands/local.js')).local,
  apply: async () => (await import('./commands/store.js')).apply,
  delete: async () => (await import('./commands/store.js')).del,
  get: async () => (await import('./commands/store.js')).get,
  'ztunnel-config': async () => (await import('./commands/proxies.js')).ztunnelConfig,
  'proxy-status': async () => (await import('./commands/proxies.js')).proxyStatus,
};
const experimental: Record<string, Load> = {
  render: async () => (await import('./commands/render.js')).render,
  explain: async () => (await import('./commands/explain.js')).explain,
};

async function help(): Promise<string> {
  const lines = ['usage: ambit <command> [flags]', '', 'commands:'];
  for (const [name, load] of Object.entries(commands))
    lines.push(`  ${name.padEnd(14)} ${(await load()).summary}`);
  for (const [name, load] of Object.entries(experimental))
    lines.push(`  x ${name.padEnd(12)} ${(await load()).summary}`);
  lines.push('', "run 'ambit <command> --help' for a command's flags");
  return lines.join('\n');
}

async function find(
  argv: string[],
): Promise<{ name: string; command: Command; rest: string[] } | undefined> {
  const [first, second, ...rest] = argv;
  if (first === 'x' && second !== undefined) {
    const load = Object.hasOwn(experimental, second) ? experimental[second] : undefined;
    return load && { name: `x ${second}`, command: await load(), rest };
  }
  const load = first !== undefined && Object.hasOwn(commands, first) ? commands[first] : undefined;
  return load && first !== undefined
    ? { name: first, command: await load(), rest: argv.slice(1) }
    : undefined;
}

/** Runs one `ambit` invocation and returns its exit code. */
export async function main(argv: string[]): Promise<ExitCode> {
  if (argv.length === 0 || argv[0] === 'help' || argv[0] === '--help' || argv[0] === '-h') {
    console.log(await help());
    return 0;
  }
  const found = await find(argv);
  if (!found) {
    console.error(`ambit: unknown command '${argv.slice(0, 2).join(' ')}'\n\n${await help()}`);
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
