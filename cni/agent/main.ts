import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LevelWithSilent } from 'pino';
import { AdminServer, json } from '../../core/admin/server.js';
import { DirectorySource } from '../../core/config/directory.js';
import { FlagError, hostPortFlag, untilSignalled } from '../../core/program/flags.js';
import { createLogger } from '../../core/telemetry/log.js';
import { createRegistry } from '../../core/telemetry/metrics.js';
import { DEFAULT_AGENT_SOCKET, DEFAULT_STATE_DIR } from '../plugin/protocol.js';
import { captureState, installCapture, removeCapture } from '../rules/capture.js';
import { NodeAgent } from './agent.js';
import { FilePodSource } from './file-pod-source.js';

export const USAGE = `--node NAME --config DIR [flags]

  --node NAME          this node's name (Pods with another spec.nodeName are not ours)
  --config DIR         directory of Kubernetes and Istio YAML (Namespaces, Pods), watched
  --cni-socket PATH    where the CNI plugin calls the agent (default ${DEFAULT_AGENT_SOCKET})
  --zds-socket PATH    where ztunnel connects for pod netns (default /var/run/ztunnel/ztunnel.sock)
  --state-dir DIR      sandboxes known across restarts, events left by the plugin
                       (default ${DEFAULT_STATE_DIR})
  --admin HOST:PORT    /ready, /metrics and /debug/sandboxes on loopback (default: off)
  --log-level LEVEL    trace, debug, info, warn, error or silent (default info)`;

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

function level(value: string): LevelWithSilent {
  if (!(LEVELS as readonly string[]).includes(value))
    throw new FlagError(`--log-level ${value}: expected one of ${LEVELS.join(', ')}`);
  return value as LevelWithSilent;
}

/** `ambit cni-agent`: parses flags, runs the node agent until SIGTERM/SIGINT. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      node: { type: 'string' },
      config: { type: 'string' },
      'cni-socket': { type: 'string', default: DEFAULT_AGENT_SOCKET },
      'zds-socket': { type: 'string', default: '/var/run/ztunnel/ztunnel.sock' },
      'state-dir': { type: 'string', default: DEFAULT_STATE_DIR },
      admin: { type: 'string' },
      'log-level': { type: 'string' },
    },
  });
  if (!values.node) throw new FlagError('--node NAME is required');
  if (!values.config) throw new FlagError('--config DIR is required');
  const admin = values.admin === undefined ? undefined : hostPortFlag('admin', values.admin);

  const logger = createLogger('cni-agent', {
    ...(values['log-level'] === undefined ? {} : { level: level(values['log-level']) }),
  });
  const registry = createRegistry({ processMetrics: true });
  const rulesLogger = logger.child({ part: 'rules' });
  const agent = new NodeAgent({
    nodeName: values.node,
    pods: new FilePodSource(
      new DirectorySource({
        directory: resolve(values.config),
        logger: logger.child({ part: 'config' }),
        registry,
      }),
      values.node,
    ),
    rules: {
      installCapture: (netns) => installCapture(netns, { logger: rulesLogger }),
      removeCapture: (netns) => removeCapture(netns, { logger: rulesLogger }),
      captureState,
    },
    stateDir: resolve(values['state-dir']),
    cniSocket: resolve(values['cni-socket']),
    zdsSocket: resolve(values['zds-socket']),
    logger,
    registry,
  });

  let ready = false;
  const adminServer =
    admin === undefined
      ? undefined
      : new AdminServer({
          ...admin,
          registry,
          routes: {
            '/ready': () => (ready ? json({ ready }) : json({ ready }, 503)),
            '/debug/sandboxes': () =>
              json({ ztunnelConnected: agent.ztunnelConnected(), sandboxes: agent.statuses() }),
          },
        });
  await adminServer?.listen();
  try {
    await agent.start();
  } catch (err) {
    // Release what did start (watchers, sockets) so the process can exit with the error.
    await agent.stop();
    await adminServer?.close();
    throw err;
  }
  ready = true;

  await untilSignalled();
  logger.info('shutting down; enrolled pods keep their capture rules');
  await adminServer?.close();
  await agent.stop();
  logger.flush();
  return 0;
}
