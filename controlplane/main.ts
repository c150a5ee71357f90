import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DirectorySource } from '../core/config/directory.js';
import { durationFlag, FlagError, hostPortFlag, untilSignalled } from '../core/program/flags.js';
import { parseTrustDomain } from '../core/identity/spiffe.js';
import { createLogger } from '../core/telemetry/log.js';
import { createRegistry } from '../core/telemetry/metrics.js';
import { ReloadingTokenAuthenticator } from './auth/reloading-tokens.js';
import { ControlPlane } from './controlplane.js';

export const USAGE = `--config DIR --tokens FILE [flags]

  --config DIR            directory of Kubernetes and Istio YAML, watched for changes
  --tokens FILE           static bearer tokens (list of {token, namespace, serviceAccount, node?})
  --state-dir DIR         where the self-signed CA root is kept (default .state/controlplane)
  --plugin-ca DIR         use a plug-in CA (ca-cert.pem, ca-key.pem, root-cert.pem, cert-chain.pem)
  --listen HOST:PORT      xDS and CA over gRPC+TLS (default 127.0.0.1:15012)
  --monitoring HOST:PORT  /metrics, /ready, /debug on loopback (default 127.0.0.1:15014)
  --trust-domain TD       SPIFFE trust domain (default cluster.local)
  --root-namespace NS     the mesh's root namespace (default istio-system)
  --cluster-id ID         cluster id in workload uids (default Kubernetes)
  --domain-suffix SUFFIX  Service DNS suffix (default cluster.local)
  --max-cert-ttl DUR      longest workload certificate issued (default 24h)
  --push-debounce DUR     quiet time before an xDS push (default 100ms)
  --serving-dns-name NAME extra DNS name for the gRPC serving certificate (repeatable)`;

/** `ambit controlplane`: parses flags, wires the control plane, runs until SIGTERM/SIGINT. */
export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      tokens: { type: 'string' },
      'state-dir': { type: 'string', default: '.state/controlplane' },
      'plugin-ca': { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:15012' },
      monitoring: { type: 'string', default: '127.0.0.1:15014' },
      'trust-domain': { type: 'string', default: 'cluster.local' },
      'root-namespace': { type: 'string', default: 'istio-system' },
      'cluster-id': { type: 'string', default: 'Kubernetes' },
      'domain-suffix': { type: 'string', default: 'cluster.local' },
      'max-cert-ttl': { type: 'string', default: '24h' },
      'push-debounce': { type: 'string', default: '100ms' },
      'serving-dns-name': { type: 'string', multiple: true },
    },
  });
  if (!values.config) throw new FlagError('--config DIR is required');
  if (!values.tokens)
    throw new FlagError('--tokens FILE is required: without it no proxy can authenticate');

  const logger = createLogger('controlplane');
  const registry = createRegistry({ processMetrics: true });
  const trustDomain = parseTrustDomain(values['trust-domain']);
  const controlPlane = new ControlPlane({
    source: new DirectorySource({
      directory: resolve(values.config),
      logger: logger.child({ component: 'config' }),
      registry,
    }),
    authenticator: await ReloadingTokenAuthenticator.fromFile(
      values.tokens,
      trustDomain,
      logger.child({ component: 'auth' }),
    ),
    logger,
    registry,
    stateDir: resolve(values['state-dir']),
    ...(values['plugin-ca'] ? { pluginCaDir: resolve(values['plugin-ca']) } : {}),
    trustDomain,
    rootNamespace: values['root-namespace'],
    clusterId: values['cluster-id'],
    domainSuffix: values['domain-suffix'],
    maxCertTtlMs: durationFlag('max-cert-ttl', values['max-cert-ttl']),
    pushDebounceMs: durationFlag('push-debounce', values['push-debounce']),
    grpc: hostPortFlag('listen', values.listen),
    monitoring: hostPortFlag('monitoring', values.monitoring),
    servingDnsNames: values['serving-dns-name'] ?? [],
  });
  await controlPlane.start();

  await untilSignalled();
  logger.info('shutting down');
  await controlPlane.stop();
  logger.flush();
  return 0;
}
