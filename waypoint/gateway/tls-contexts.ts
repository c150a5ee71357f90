import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { GatewayListener, GatewayServer, ServerTls } from '../../api/gateway/config.js';
import type { Logger } from '../../core/telemetry/log.js';

/** How a terminating server's handshakes go: its certificate, and whether clients must show one. */
export interface ServerTlsContext {
  readonly secureContext: SecureContext;
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
}

/**
 * The TLS contexts of every terminating server, by origin, rebuilt when a push changes a
 * server's credential (and kept when it does not: making a context parses the key). A server
 * whose credential cannot be used has none, so its handshakes fail; the reason is logged by
 * server and Secret, never with the material.
 */
export class TlsContexts {
  readonly #logger: Logger;
  #contexts = new Map<string, { key: string; context: ServerTlsContext }>();

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  get(server: GatewayServer): ServerTlsContext | undefined {
    return this.#contexts.get(server.origin)?.context;
  }

  update(listeners: readonly GatewayListener[]): void {
    const next = new Map<string, { key: string; context: ServerTlsContext }>();
    for (const listener of listeners)
      for (const server of listener.servers) {
        const tls = server.tls;
        if (tls === undefined || tls.mode === 'passthrough') continue;
        if (tls.problem !== undefined || tls.credential === undefined) {
          this.#logger.warn(
            { server: server.origin, reason: tls.problem },
            'TLS server has no usable credential; its handshakes fail',
          );
          continue;
        }
        const key = JSON.stringify(tls);
        const kept = this.#contexts.get(server.origin);
        if (kept?.key === key) {
          next.set(server.origin, kept);
          continue;
        }
        try {
          next.set(server.origin, { key, context: contextFor(tls) });
        } catch (err) {
          // OpenSSL's messages name what is wrong (no start line, key mismatch), not the bytes.
          this.#logger.warn(
            { server: server.origin, source: tls.credential.source, error: (err as Error).message },
            'TLS credential unusable; its handshakes fail',
          );
        }
      }
    this.#contexts = next;
  }
}

const MIN_DEFAULT = 'TLSv1.2';

function contextFor(tls: ServerTls): ServerTlsContext {
  const credential = tls.credential!;
  // `file`: paths the gateway reads (Istio's serverCertificate/privateKey/caCertificates).
  const read = (value: string) =>
    credential.source === 'file' ? readFileSync(value, 'utf8') : value;
  const mutual = tls.mode === 'mutual' || tls.mode === 'optional-mutual';
  const ca =
    mutual && credential.caCertificates !== undefined ? read(credential.caCertificates) : undefined;
  return {
    secureContext: createSecureContext({
      cert: read(credential.certificateChain),
      key: read(credential.privateKey),
      ...(ca === undefined ? {} : { ca }),
      minVersion: tls.minProtocolVersion ?? MIN_DEFAULT,
      ...(tls.maxProtocolVersion === undefined ? {} : { maxVersion: tls.maxProtocolVersion }),
    }),
    requestCert: mutual,
    rejectUnauthorized: tls.mode === 'mutual',
  };
}
