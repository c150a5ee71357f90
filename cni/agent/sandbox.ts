import type { DeleteRequest, SandboxRequest } from '../plugin/protocol.js';
import { BadRequestError } from './errors.js';
import { podUid, type PodUid } from './pod-source.js';

/** A pod sandbox the CNI plugin told the agent about: where its network namespace is. */
export interface Sandbox {
  readonly uid: PodUid;
  readonly containerId: string;
  /** Path of the network namespace (a bind mount such as /var/run/netns/x, or /proc/PID/ns/net). */
  readonly netns: string;
  readonly ifname: string;
  readonly pod: { readonly name: string; readonly namespace: string };
  readonly ips: readonly string[];
}

export function podName(sandbox: Sandbox): string {
  return `${sandbox.pod.namespace}/${sandbox.pod.name}`;
}

function field(body: Record<string, unknown>, name: string, what: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '')
    throw new BadRequestError(`${what}.${name} must be a non-empty string`);
  return value;
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new BadRequestError(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function podRef(value: unknown): SandboxRequest['pod'] {
  const pod = object(value, 'pod');
  return {
    name: field(pod, 'name', 'pod'),
    namespace: field(pod, 'namespace', 'pod'),
    uid: field(pod, 'uid', 'pod'),
  };
}

/** Reads an add/check request (or a persisted sandbox, which has the same fields). */
export function parseSandboxRequest(value: unknown): SandboxRequest {
  const body = object(value, 'request');
  const ips = body.ips ?? [];
  if (!Array.isArray(ips) || ips.some((ip) => typeof ip !== 'string'))
    throw new BadRequestError('request.ips must be a list of strings');
  return {
    containerId: field(body, 'containerId', 'request'),
    netns: field(body, 'netns', 'request'),
    ifname: field(body, 'ifname', 'request'),
    pod: podRef(body.pod),
    ips: ips as string[],
  };
}

export function parseDeleteRequest(value: unknown): DeleteRequest {
  const body = object(value, 'request');
  return {
    containerId: field(body, 'containerId', 'request'),
    ...(body.pod === undefined ? {} : { pod: podRef(body.pod) }),
  };
}

export function sandboxOf(request: SandboxRequest): Sandbox {
  return {
    uid: podUid(request.pod.uid),
    containerId: request.containerId,
    netns: request.netns,
    ifname: request.ifname,
    pod: { name: request.pod.name, namespace: request.pod.namespace },
    ips: request.ips,
  };
}

/** The form a sandbox is persisted in: the request that announced it. */
export function requestOf(sandbox: Sandbox): SandboxRequest {
  return {
    containerId: sandbox.containerId,
    netns: sandbox.netns,
    ifname: sandbox.ifname,
    pod: { ...sandbox.pod, uid: sandbox.uid },
    ips: sandbox.ips,
  };
}
