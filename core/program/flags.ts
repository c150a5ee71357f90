import { readFile } from 'node:fs/promises';
import { MeshError } from '../errors.js';
import { parseDurationMs } from '../../api/schema/duration.js';

/** A flag the user got wrong: the `ambit` command prints it with the command's usage. */
export class FlagError extends MeshError {
  readonly code = 'AMBIT_FLAG';
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** `HOST:PORT` (IPv6 as `[addr]:port`), port 0–65535. */
export function hostPortFlag(flag: string, value: string): HostPort {
  const at = value.lastIndexOf(':');
  const port = Number(value.slice(at + 1));
  if (at <= 0 || !/^\d+$/.test(value.slice(at + 1)) || port > 65535)
    throw new FlagError(`--${flag} ${value}: expected HOST:PORT with a port from 0 to 65535`);
  return { host: value.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port };
}

/** A positive duration in Go syntax (`100ms`, `30s`, `24h`), in milliseconds. */
export function durationFlag(flag: string, value: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined || ms <= 0)
    throw new FlagError(`--${flag} ${value}: expected a duration such as 100ms, 30s or 24h`);
  return ms;
}

/** Fails with a FlagError naming the first required flag left unset. */
export function requireFlags<K extends string>(
  values: Partial<Record<K, unknown>>,
  flags: readonly K[],
): void {
  for (const flag of flags) if (!values[flag]) throw new FlagError(`--${flag} is required`);
}

/** Reads a file a flag names, failing as a FlagError that names the flag. */
export async function readFlagFile(flag: string, path: string): Promise<string> {
  return readFile(path, 'utf8').catch((cause: unknown) => {
    throw new FlagError(`--${flag} ${path}: cannot be read`, { cause });
  });
}

/**
 * A bearer token kept in a file (a projected service-account token is rewritten in place),
 * read again on every use; checked once now so a wrong path fails at start.
 */
export async function tokenFileFlag(flag: string, path: string): Promise<() => Promise<string>> {
  await readFlagFile(flag, path);
  return async () => (await readFile(path, 'utf8')).trim();
}

/** Resolves on the first SIGTERM or SIGINT: a program's signal to drain and exit. */
export function untilSignalled(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
}

/** `--flag N`: a whole number from `min` to `max`. */
export function integerFlag(flag: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max))
    throw new FlagError(`--${flag} ${text}: expected an integer from ${min} to ${max}`);
  return value;
}

/**
 * Runs a program that is started on its own (not through `ambit`): exit code 2 with its
 * usage for a flag mistake (or an error whose code `isUsageError` accepts), 1 otherwise.
 */
export function runStandalone(
  name: string,
  usage: string,
  main: (argv: string[]) => Promise<number>,
  isUsageError: (code: string | undefined) => boolean = () => false,
): void {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err: unknown) => {
      const code = (err as { code?: string } | null)?.code;
      const usageError =
        err instanceof FlagError ||
        code?.startsWith('ERR_PARSE_ARGS') === true ||
        isUsageError(code);
      console.error(
        `${name}: ${err instanceof Error ? err.message : String(err)}${usageError ? `\n${usage}` : ''}`,
      );
      process.exitCode = usageError ? 2 : 1;
    },
  );
}
