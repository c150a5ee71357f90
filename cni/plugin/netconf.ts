import { CNI_ERROR, CniError } from './errors.js';
import { DEFAULT_AGENT_SOCKET, DEFAULT_STATE_DIR } from './protocol.js';

/**
 * Spec versions whose ADD/DEL/CHECK this plugin implements. A chained plugin that passes
 * prevResult through is the same for all of them; 1.1.0 adds GC and STATUS, which it does not
 * implement.
 */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
export type CniVersion = (typeof SUPPORTED_VERSIONS)[number];

/** The net conf on stdin, as this plugin reads it. Unknown fields are the runtime's and ignored. */
export interface NetConf {
  readonly cniVersion: CniVersion;
  readonly name: string;
  readonly type: string;
  /** The node agent's unix socket. */
  readonly agentSocket: string;
  /** Where events are left for the agent when it cannot be reached. */
  readonly stateDir: string;
  /** The previous plugin's result, passed through unchanged on ADD. */
  readonly prevResult?: Readonly<Record<string, unknown>>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSupported(version: string): version is CniVersion {
  return (SUPPORTED_VERSIONS as readonly string[]).includes(version);
}

/** Parses stdin into JSON, or fails with the spec's "failed to decode content". */
export function decodeStdin(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CniError(CNI_ERROR.decodingFailure, 'network configuration is not valid JSON', '', {
      cause: err,
    });
  }
  if (!isObject(value))
    throw new CniError(CNI_ERROR.decodingFailure, 'network configuration is not a JSON object');
  return value;
}

function optionalString(raw: Record<string, unknown>, field: string): string | undefined {
  const value = raw[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new CniError(CNI_ERROR.invalidNetworkConfig, `${field} must be a non-empty string`);
  return value;
}

export function parseNetConf(raw: Record<string, unknown>): NetConf {
  const version = raw.cniVersion;
  if (typeof version !== 'string')
    throw new CniError(CNI_ERROR.invalidNetworkConfig, 'cniVersion must be a string');
  if (!isSupported(version)) {
    throw new CniError(
      CNI_ERROR.incompatibleVersion,
      `cniVersion ${version} is not supported`,
      `supported versions: ${SUPPORTED_VERSIONS.join(', ')}`,
    );
  }
  const name = optionalString(raw, 'name');
  const type = optionalString(raw, 'type');
  if (name === undefined || type === undefined)
    throw new CniError(CNI_ERROR.invalidNetworkConfig, 'name and type are required');
  const prevResult = raw.prevResult;
  if (prevResult !== undefined && !isObject(prevResult))
    throw new CniError(CNI_ERROR.invalidNetworkConfig, 'prevResult must be an object');
  return {
    cniVersion: version,
    name,
    type,
    agentSocket: optionalString(raw, 'agentSocket') ?? DEFAULT_AGENT_SOCKET,
    stateDir: optionalString(raw, 'stateDir') ?? DEFAULT_STATE_DIR,
    ...(prevResult === undefined ? {} : { prevResult }),
  };
}

/** ADD and CHECK of a chained plugin need the previous plugin's result. */
export function requirePrevResult(conf: NetConf): Readonly<Record<string, unknown>> {
  if (conf.prevResult === undefined) {
    throw new CniError(
      CNI_ERROR.invalidNetworkConfig,
      `${conf.type} is a chained plugin: prevResult is missing`,
      'list it after the plugin that creates the interface and assigns addresses',
    );
  }
  return conf.prevResult;
}

/** The pod's addresses from a result (`ips[].address`, CIDR notation), without prefix lengths. */
export function resultAddresses(result: Readonly<Record<string, unknown>>): string[] {
  const ips = result.ips;
  if (!Array.isArray(ips)) return [];
  const addresses: string[] = [];
  for (const ip of ips) {
    if (isObject(ip) && typeof ip.address === 'string') {
      const [address] = ip.address.split('/');
      if (address) addresses.push(address);
    }
  }
  return addresses;
}
