import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { MeshError } from '../../core/errors.js';
import { runCommand } from '../command.js';
import { CNI_PLUGIN_DIR } from '../pods.js';

/** What this host lacks for a local mesh; the message says how to get it. */
export class HostNotReadyError extends MeshError {
  readonly code = 'AMBIT_LOCAL_HOST';
  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options);
  }
}

/** A local mesh makes namespaces, links and firewall rules: that takes root. */
export function requireRoot(action: string): void {
  if (process.getuid?.() !== 0)
    throw new HostNotReadyError(
      `${action} needs root (network namespaces, links, firewall rules); run it with sudo`,
    );
}

/** Root, iproute2, iptables and the CNI plugins the pod network is made of. */
export async function checkHost(ambitCniDir: string): Promise<void> {
  requireRoot('ambit local up');
  for (const [tool, pkg] of [
    ['ip', 'iproute2'],
    ['iptables', 'iptables'],
    ['setpriv', 'util-linux'],
  ] as const) {
    try {
      await runCommand(tool, tool === 'ip' ? ['-V'] : ['--version']);
    } catch (err) {
      throw new HostNotReadyError(`${tool} is not usable on this host; install ${pkg}`, {
        cause: err,
      });
    }
  }
  for (const plugin of ['bridge', 'host-local', 'loopback'])
    await executable(
      join(CNI_PLUGIN_DIR, plugin),
      `CNI plugin ${plugin} missing from ${CNI_PLUGIN_DIR}; install containernetworking-plugins`,
    );
  await executable(
    join(ambitCniDir, 'ambit-cni'),
    `Ambit's CNI plugin is missing from ${ambitCniDir}; run \`make build\``,
  );
}

async function executable(path: string, reason: string): Promise<void> {
  try {
    await access(path, constants.X_OK);
  } catch (err) {
    throw new HostNotReadyError(reason, { cause: err });
  }
}
