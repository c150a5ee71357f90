/**
 * Pod (core/v1): the fields the mesh reads (where it runs, as whom, its containers' ports,
 * native sidecars among its init containers, and its addresses). Pods are not mesh
 * resources, so every other field is accepted unchecked.
 */
import { dns1123Label, dns1123Subdomain, isIPAddress, s } from '../schema/index.js';
import type { Check, Infer } from '../schema/index.js';
import { portName, portNumber, protocol } from './kubernetes-ports.js';

const loose = { unknownFields: 'ignore' } as const;

const ipAddress: Check<string> = (value, ctx) => {
  if (!isIPAddress(value)) ctx.issue('', 'must be an IP address');
};

export const containerPort = s.object(
  {
    name: s.string().check(portName, 'An IANA service name.').optional(),
    containerPort: portNumber,
    protocol: protocol.default('TCP'),
    // 0 is how clients write "no host port".
    hostPort: s.integer({ minimum: 0, maximum: 65535, format: 'int32' }).optional(),
    hostIP: s.string().check(ipAddress).optional(),
  },
  loose,
);
export type ContainerPort = Infer<typeof containerPort>;

/** `Always` on an init container makes it a native sidecar: it starts first and keeps running. */
export const CONTAINER_RESTART_POLICIES = ['Always', 'OnFailure', 'Never'] as const;
export type ContainerRestartPolicy = (typeof CONTAINER_RESTART_POLICIES)[number];

export const container = s.object(
  {
    name: s.string().check(dns1123Label, 'A DNS-1123 label.'),
    image: s.string().optional(),
    restartPolicy: s.enumOf(...CONTAINER_RESTART_POLICIES).optional(),
    ports: s
      .array(containerPort)
      .check((ports, ctx) => {
        const seen = new Set<string>();
        ports.forEach((p, i) => {
          if (p.name === undefined) return;
          if (seen.has(p.name)) ctx.issue(`[${i}].name`, `duplicate port name ${p.name}`);
          seen.add(p.name);
        });
      }, 'Port names are unique.')
      .optional(),
  },
  loose,
);
export type Container = Infer<typeof container>;

/** Container names are unique within each list; podSpec checks across the two lists. */
const uniqueNames: Check<Container[]> = (containers, ctx) => {
  const seen = new Set<string>();
  containers.forEach((c, i) => {
    if (seen.has(c.name)) ctx.issue(`[${i}].name`, `duplicate container name ${c.name}`);
    seen.add(c.name);
  });
};

const podFields = s.object(
  {
    nodeName: s.string().check(dns1123Subdomain, 'A node name.').optional(),
    serviceAccountName: s
      .string()
      .check(dns1123Subdomain, 'A service account name.')
      .default('default'),
    hostNetwork: s.boolean().optional(),
    initContainers: s.array(container).check(uniqueNames, 'Container names are unique.').optional(),
    containers: s
      .array(container, { minItems: 1 })
      .check(uniqueNames, 'Container names are unique.'),
  },
  loose,
);

// The API server names the init container that repeats a container's name.
export const podSpec = podFields.check((spec, ctx) => {
  const names = new Set(spec.containers.map((c) => c.name));
  (spec.initContainers ?? []).forEach((c, i) => {
    if (names.has(c.name)) {
      ctx.issue(`initContainers[${i}].name`, `duplicate container name ${c.name}`);
    }
  });
}, 'Container and init container names are unique across the pod.');
export type PodSpec = Infer<typeof podSpec>;

const podIP = s.object({ ip: s.string().check(ipAddress) }, loose);

export const POD_PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'] as const;
export type PodPhase = (typeof POD_PHASES)[number];

export const podStatus = s.object(
  {
    phase: s.enumOf(...POD_PHASES).optional(),
    podIP: s.string().check(ipAddress).optional(),
    podIPs: s.array(podIP).optional(),
    hostIP: s.string().check(ipAddress).optional(),
    hostIPs: s.array(podIP).optional(),
    conditions: s
      .array(
        s.object(
          {
            type: s.string(),
            status: s.enumOf('True', 'False', 'Unknown'),
            reason: s.string().optional(),
            message: s.string().optional(),
            lastTransitionTime: s.string().optional(),
          },
          loose,
        ),
      )
      .optional(),
  },
  loose,
);
export type PodStatus = Infer<typeof podStatus>;
