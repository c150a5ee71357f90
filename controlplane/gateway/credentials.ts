/**
 * The certificate material of a TLS server, resolved as Istio's gateway secret handling does
 * (security/pkg/server/ca/authenticate and pilot's credentials controller): `credentialName`
 * names a Secret in the gateway pod's namespace with `tls.crt`/`tls.key` (or the generic
 * `cert`/`key`), and for MUTUAL a CA bundle in `ca.crt`/`cacert` of that Secret or of
 * `<credentialName>-cacert`. File paths (`serverCertificate`, …) are read by the gateway.
 * Problems name the Secret and the key, never a value.
 */
import {
  secretValue,
  type SecretResource,
  type ServerTLSSettings,
} from '../../api/resources/index.js';
import type { ServerTls, TlsCredential } from '../../api/gateway/config.js';
import { compact } from '../waypoint/compact.js';

/** Istio's suffix for the Secret holding a credential's CA bundle. */
const CA_SECRET_SUFFIX = '-cacert';

export class SecretIndex {
  readonly #byKey = new Map<string, SecretResource>();

  constructor(secrets: readonly SecretResource[]) {
    for (const secret of secrets)
      this.#byKey.set(`${secret.metadata.namespace ?? 'default'}/${secret.metadata.name}`, secret);
  }

  get(namespace: string, name: string): SecretResource | undefined {
    return this.#byKey.get(`${namespace}/${name}`);
  }
}

function firstKey(secret: SecretResource, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = secretValue(secret.spec, key);
    if (value !== undefined && value !== '') return value;
  }
  return undefined;
}

type Resolved = { credential: TlsCredential } | { problem: string };

/** TLS material from a Secret; `mutual` also needs a CA bundle. */
export function secretCredential(
  secrets: SecretIndex,
  namespace: string,
  name: string,
  mutual: boolean,
): Resolved {
  const secret = secrets.get(namespace, name);
  if (secret === undefined) return { problem: `Secret ${namespace}/${name} not found` };
  const certificateChain = firstKey(secret, ['tls.crt', 'cert']);
  const privateKey = firstKey(secret, ['tls.key', 'key']);
  if (certificateChain === undefined || privateKey === undefined)
    return { problem: `Secret ${namespace}/${name} has no tls.crt and tls.key` };
  let caCertificates = firstKey(secret, ['ca.crt', 'cacert']);
  if (caCertificates === undefined && mutual) {
    const ca = secrets.get(namespace, `${name}${CA_SECRET_SUFFIX}`);
    caCertificates = ca === undefined ? undefined : firstKey(ca, ['ca.crt', 'cacert']);
    if (caCertificates === undefined)
      return {
        problem: `MUTUAL needs ca.crt in Secret ${namespace}/${name} or ${namespace}/${name}${CA_SECRET_SUFFIX}`,
      };
  }
  return {
    credential: compact({
      source: 'secret' as const,
      certificateChain,
      privateKey,
      caCertificates: mutual ? caCertificates : undefined,
    }),
  };
}

const VERSIONS = {
  TLSV1_0: 'TLSv1',
  TLSV1_1: 'TLSv1.1',
  TLSV1_2: 'TLSv1.2',
  TLSV1_3: 'TLSv1.3',
} as const;

function version(v: ServerTLSSettings['minProtocolVersion']) {
  return v === undefined || v === 'TLS_AUTO' ? undefined : VERSIONS[v];
}

/**
 * A server's TLS as the gateway runs it, or why it cannot: ISTIO_MUTUAL and AUTO_PASSTHROUGH
 * serve mesh-internal gateways (east-west), which this gateway is not.
 */
export function serverTls(
  tls: ServerTLSSettings,
  secrets: SecretIndex,
  podNamespace: string,
): ServerTls {
  const versions = {
    minProtocolVersion: version(tls.minProtocolVersion),
    maxProtocolVersion: version(tls.maxProtocolVersion),
  };
  switch (tls.mode) {
    case 'PASSTHROUGH':
      return { mode: 'passthrough' };
    case 'ISTIO_MUTUAL':
    case 'AUTO_PASSTHROUGH':
      return { mode: 'simple', problem: `tls mode ${tls.mode} is not supported by the gateway` };
    default:
      break;
  }
  const mode =
    tls.mode === 'MUTUAL'
      ? 'mutual'
      : tls.mode === 'OPTIONAL_MUTUAL'
        ? 'optional-mutual'
        : 'simple';
  const mutual = mode !== 'simple';
  const credentialName = tls.credentialName ?? tls.credentialNames?.[0];
  if (credentialName !== undefined && credentialName !== '') {
    const resolved = secretCredential(secrets, podNamespace, credentialName, mutual);
    return compact({ mode, ...versions, ...resolved });
  }
  const file = tls.tlsCertificates?.[0] ?? tls;
  if (!file.serverCertificate || !file.privateKey)
    return compact({
      mode,
      ...versions,
      problem: 'no certificate: set credentialName or serverCertificate and privateKey',
    });
  return compact({
    mode,
    ...versions,
    credential: compact({
      source: 'file' as const,
      certificateChain: file.serverCertificate,
      privateKey: file.privateKey,
      caCertificates: mutual ? (tls.caCertificates ?? undefined) : undefined,
    }),
  });
}
