import { CNI_ERROR, CniError } from './errors.js';
import type { PodRef } from './protocol.js';

export const CNI_COMMANDS = ['ADD', 'DEL', 'CHECK', 'VERSION'] as const;
export type CniCommand = (typeof CNI_COMMANDS)[number];

/** The CNI_* variables the runtime sets (SPEC.md "Parameters"). */
export interface CniEnvironment {
  readonly command: CniCommand;
  readonly containerId: string;
  /** Empty on DEL when the runtime no longer has the namespace. */
  readonly netns: string;
  readonly ifname: string;
  /** From CNI_ARGS; absent for a sandbox that is not a Kubernetes pod. */
  readonly pod?: PodRef;
}

function isCommand(value: string): value is CniCommand {
  return (CNI_COMMANDS as readonly string[]).includes(value);
}

/** `K=V;K=V` as the spec and kubelet write CNI_ARGS. */
export function parseCniArgs(text: string): Map<string, string> {
  const args = new Map<string, string>();
  for (const pair of text.split(';')) {
    const at = pair.indexOf('=');
    if (at > 0) args.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return args;
}

/**
 * The pod from CNI_ARGS, as kubelet passes it; undefined when this is not a Kubernetes pod.
 * DEL tolerates a missing uid: it must clean up whatever it can and never fail.
 */
function podOf(args: Map<string, string>, command: CniCommand): PodRef | undefined {
  const name = args.get('K8S_POD_NAME');
  const namespace = args.get('K8S_POD_NAMESPACE');
  if (!name || !namespace) return undefined;
  const uid = args.get('K8S_POD_UID');
  if (!uid) {
    if (command === 'DEL') return undefined;
    throw new CniError(
      CNI_ERROR.invalidEnvironment,
      `CNI_ARGS names pod ${namespace}/${name} without K8S_POD_UID`,
      'the node agent tracks sandboxes by pod uid',
    );
  }
  return { name, namespace, uid };
}

/** Reads the command first: VERSION needs no other variable. */
export function parseCommand(env: NodeJS.ProcessEnv): CniCommand {
  const command = env.CNI_COMMAND ?? '';
  if (!isCommand(command)) {
    throw new CniError(
      CNI_ERROR.invalidEnvironment,
      `CNI_COMMAND ${command === '' ? 'is not set' : `${command} is not supported`}`,
      `supported commands: ${CNI_COMMANDS.join(', ')}`,
    );
  }
  return command;
}

export function parseEnvironment(env: NodeJS.ProcessEnv): CniEnvironment {
  const command = parseCommand(env);
  const missing = ['CNI_CONTAINERID', 'CNI_IFNAME', ...(command === 'DEL' ? [] : ['CNI_NETNS'])]
    .filter((name) => !env[name])
    .sort();
  if (missing.length > 0)
    throw new CniError(CNI_ERROR.invalidEnvironment, `${missing.join(', ')} must be set`);
  const pod = podOf(parseCniArgs(env.CNI_ARGS ?? ''), command);
  return {
    command,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifname: env.CNI_IFNAME ?? '',
    ...(pod === undefined ? {} : { pod }),
  };
}
