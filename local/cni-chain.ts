import { constants } from 'node:fs';
import { access, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshError } from '../core/errors.js';
import { LocalCommandError, runCommand } from './command.js';

/** A CNI network configuration list (`.conflist`). */
export interface NetworkConfigList {
  readonly cniVersion: string;
  readonly name: string;
  readonly plugins: readonly PluginConfig[];
}

export interface PluginConfig {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** What the runtime says about the container for one network attachment. */
export interface RuntimeConfig {
  readonly containerId: string;
  readonly netnsPath: string;
  readonly ifName: string;
  /** CNI_ARGS pairs, e.g. K8S_POD_NAME. */
  readonly args: readonly (readonly [string, string])[];
}

/** A CNI 1.0.0 success result. */
export interface CniResult {
  readonly cniVersion: string;
  readonly interfaces?: readonly { name: string; mac?: string; sandbox?: string }[];
  readonly ips?: readonly { address: string; gateway?: string; interface?: number }[];
  readonly routes?: readonly { dst: string; gw?: string }[];
  readonly dns?: Readonly<Record<string, unknown>>;
}

export interface ChainOptions {
  /** Directories searched for plugin binaries, in order (CNI_PATH). */
  readonly pluginDirs: readonly string[];
  /** Where ADD results are kept for DEL, as libcni's cache directory. */
  readonly cacheDir: string;
  /** Run the plugins inside this named network namespace (a node's), like a runtime there. */
  readonly netns?: string;
  /** Extra environment for the plugins (the rest is PATH and the CNI_* variables). */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

export class CniPluginError extends MeshError {
  readonly code = 'AMBIT_CNI_PLUGIN';
  constructor(
    readonly plugin: string,
    readonly command: 'ADD' | 'DEL',
    readonly network: string,
    readonly reason: string,
    readonly cniCode?: number,
    options?: { cause?: unknown },
  ) {
    super(`CNI ${command} of network ${network}: plugin ${plugin}: ${reason}`, options);
  }
}

/**
 * ADD as libcni runs a list: each plugin in order, handed the previous plugin's result as
 * `prevResult`; the last result is cached for DEL and returned. A failed ADD leaves cleanup
 * to the caller's DEL, as a container runtime does.
 */
export async function addNetworkList(
  list: NetworkConfigList,
  runtime: RuntimeConfig,
  options: ChainOptions,
): Promise<CniResult> {
  let result: CniResult | undefined;
  for (const plugin of list.plugins) {
    const stdout = await invoke('ADD', list, plugin, runtime, options, result);
    result = parseResult(stdout, list.name, plugin.type);
  }
  if (!result) throw new CniPluginError('-', 'ADD', list.name, 'the list has no plugins');
  await mkdir(resultsDir(options), { recursive: true });
  await writeFile(cacheFile(list, runtime, options), JSON.stringify({ result }));
  return result;
}

/**
 * DEL as libcni runs it: plugins in reverse order, each handed the cached ADD result as
 * `prevResult` when there is one; the cache entry goes once every plugin succeeded.
 */
export async function delNetworkList(
  list: NetworkConfigList,
  runtime: RuntimeConfig,
  options: ChainOptions,
): Promise<void> {
  const file = cacheFile(list, runtime, options);
  let cached: CniResult | undefined;
  try {
    cached = (JSON.parse(await readFile(file, 'utf8')) as { result: CniResult }).result;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const plugin of [...list.plugins].reverse())
    await invoke('DEL', list, plugin, runtime, options, cached);
  await rm(file, { force: true });
}

async function invoke(
  command: 'ADD' | 'DEL',
  list: NetworkConfigList,
  plugin: PluginConfig,
  runtime: RuntimeConfig,
  options: ChainOptions,
  prevResult: CniResult | undefined,
): Promise<string> {
  const binary = await findPlugin(plugin.type, options.pluginDirs, list.name, command);
  const config = {
    ...plugin,
    cniVersion: list.cniVersion,
    name: list.name,
    ...(prevResult ? { prevResult } : {}),
  };
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    ...options.env,
    CNI_COMMAND: command,
    CNI_CONTAINERID: runtime.containerId,
    CNI_NETNS: runtime.netnsPath,
    CNI_IFNAME: runtime.ifName,
    CNI_ARGS: runtime.args.map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_PATH: options.pluginDirs.join(':'),
  };
  const [file, args] = options.netns
    ? ['ip', ['netns', 'exec', options.netns, binary]]
    : [binary, []];
  try {
    const { stdout } = await runCommand(file, args, {
      input: JSON.stringify(config),
      env,
      timeoutMs: options.timeoutMs ?? 20_000,
    });
    return stdout;
  } catch (err) {
    if (!(err instanceof LocalCommandError)) throw err;
    const failure = parseError(err.stdout);
    throw new CniPluginError(
      plugin.type,
      command,
      list.name,
      failure ? failure.msg + (failure.details ? ` (${failure.details})` : '') : err.message,
      failure?.code,
      { cause: err },
    );
  }
}

async function findPlugin(
  type: string,
  dirs: readonly string[],
  network: string,
  command: 'ADD' | 'DEL',
): Promise<string> {
  if (!/^[A-Za-z0-9._-]+$/.test(type))
    throw new CniPluginError(type, command, network, 'the plugin type is not a file name');
  for (const dir of dirs) {
    const path = join(dir, type);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // Not in this directory; libcni looks on through CNI_PATH.
    }
  }
  throw new CniPluginError(type, command, network, `not found in ${dirs.join(':')}`);
}

function parseResult(stdout: string, network: string, plugin: string): CniResult {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch (err) {
    throw new CniPluginError(
      plugin,
      'ADD',
      network,
      'printed a result that is not JSON',
      undefined,
      {
        cause: err,
      },
    );
  }
  const result = value as Partial<CniResult> | null;
  if (
    typeof result !== 'object' ||
    result === null ||
    typeof result.cniVersion !== 'string' ||
    (result.ips !== undefined && !Array.isArray(result.ips)) ||
    (result.interfaces !== undefined && !Array.isArray(result.interfaces))
  )
    throw new CniPluginError(plugin, 'ADD', network, 'printed a result without cniVersion/ips');
  return result as CniResult;
}

function parseError(stdout: string): { code?: number; msg: string; details?: string } | undefined {
  try {
    const value = JSON.parse(stdout) as { code?: unknown; msg?: unknown; details?: unknown };
    if (typeof value.msg !== 'string') return undefined;
    return {
      msg: value.msg,
      ...(typeof value.code === 'number' ? { code: value.code } : {}),
      ...(typeof value.details === 'string' && value.details ? { details: value.details } : {}),
    };
  } catch {
    return undefined;
  }
}

function resultsDir(options: ChainOptions): string {
  return join(options.cacheDir, 'results');
}

function cacheFile(list: NetworkConfigList, runtime: RuntimeConfig, options: ChainOptions) {
  return join(resultsDir(options), `${list.name}-${runtime.containerId}-${runtime.ifName}`);
}
