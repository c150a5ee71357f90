import * as grpc from '@grpc/grpc-js';
import { IstioCertificateService } from '../../api/gen/istio/v1/auth/ca_pb.js';
import { bindClient, GrpcCallError, type ServiceClient } from '../../api/grpc/service.js';
import { MeshError } from '../errors.js';
import type { Logger } from '../telemetry/log.js';
import { certificatePem, describeCertificate, parseCertificates } from './certificate.js';
import type { IssuedCredentials } from './credentials.js';
import { createCsr, generateKeyPair } from './csr.js';
import { exportPrivateKeyPem } from './keys.js';
import type { Identity } from './spiffe.js';

/**
 * The key in the request's `metadata` Struct under which a node tunnel names the pod identity
 * it asks for (Istio's `ImpersonatedIdentity`; the control plane's CA reads the same key).
 */
export const IMPERSONATED_IDENTITY = 'ImpersonatedIdentity';

/** Istio's default workload certificate lifetime. */
export const DEFAULT_TTL_SECONDS = 24 * 60 * 60;
const DEFAULT_TIMEOUT_MS = 10_000;

export interface CaClientOptions {
  /** gRPC target, e.g. `127.0.0.1:15012`. */
  address: string;
  /** The CA that signed the control plane's serving certificate, and the name to check in it. */
  tls: { ca: string | Buffer; servername?: string };
  /** Sent as `authorization: Bearer <token>`; a function is asked again for every request. */
  token: string | (() => string | Promise<string>);
  logger: Logger;
  /** Requested lifetime (`validity_duration`); the CA may shorten it. */
  ttlSeconds?: number;
  /** How long one CreateCertificate call may take before it fails DEADLINE_EXCEEDED. */
  timeoutMs?: number;
}

/**
 * The CA could not be asked or refused: `status` is the gRPC status it answered with, or
 * undefined when no call went out (the token source failed).
 */
export class CertificateRequestError extends MeshError {
  readonly code = 'AMBIT_CERTIFICATE_REQUEST';
  readonly status: grpc.status | undefined;

  constructor(
    readonly identity: Identity,
    reason: string,
    options: { cause: unknown; status?: grpc.status },
  ) {
    super(`certificate request for ${identity} failed: ${reason}`, options);
    this.status = options.status;
  }
}

/** The CA answered with something that is not a usable certificate for the identity asked. */
export class CertificateResponseError extends MeshError {
  readonly code = 'AMBIT_CERTIFICATE_RESPONSE';

  constructor(
    readonly identity: Identity,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the CA's answer for ${identity} is unusable: ${reason}`, options);
  }
}

/**
 * Client of `istio.v1.auth.IstioCertificateService/CreateCertificate`: every issue makes a new
 * P-256 key and CSR, so a key never outlives its certificate and never leaves this process.
 */
export class CaClient {
  readonly #options: CaClientOptions;
  readonly #log: Logger;
  readonly #channel: grpc.Client;
  readonly #ca: ServiceClient<(typeof IstioCertificateService)['method']>;

  constructor(options: CaClientOptions) {
    this.#options = options;
    this.#log = options.logger.child({ ca: options.address });
    const { servername } = options.tls;
    this.#channel = new grpc.Client(
      options.address,
      grpc.credentials.createSsl(Buffer.from(options.tls.ca)),
      {
        ...(servername === undefined
          ? {}
          : {
              'grpc.ssl_target_name_override': servername,
              'grpc.default_authority': servername,
            }),
        // Callers retry with their own backoff; grpc's channel backoff (growing to 120 s)
        // would otherwise fail those retries for minutes after the CA is back.
        'grpc.initial_reconnect_backoff_ms': 500,
        'grpc.max_reconnect_backoff_ms': 5_000,
      },
    );
    this.#ca = bindClient(IstioCertificateService, this.#channel);
  }

  /**
   * A certificate for `identity` with a fresh key. `impersonate` asks on behalf of a pod (the
   * caller being its node tunnel); otherwise the identity must be the token's own.
   */
  async issue(
    identity: Identity,
    options: { impersonate?: boolean } = {},
  ): Promise<IssuedCredentials> {
    const keys = await generateKeyPair();
    const csr = await createCsr(identity, keys);
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${await this.#token(identity)}`);
    const ttlSeconds = this.#options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    let certChain: string[];
    try {
      ({ certChain } = await this.#ca.createCertificate(
        {
          csr,
          validityDuration: BigInt(ttlSeconds),
          metadata: options.impersonate ? { [IMPERSONATED_IDENTITY]: identity } : undefined,
        },
        {
          metadata,
          deadline: Date.now() + (this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        },
      ));
    } catch (err) {
      if (!(err instanceof GrpcCallError)) throw err;
      throw new CertificateRequestError(identity, `${grpc.status[err.status]}: ${err.details}`, {
        cause: err,
        status: err.status,
      });
    }
    const credentials = {
      ...this.#credentials(identity, certChain),
      key: await exportPrivateKeyPem(keys.privateKey),
    };
    this.#log.debug(
      { identity, notAfter: credentials.notAfter.toISOString() },
      'certificate issued',
    );
    return credentials;
  }

  close(): void {
    this.#channel.close();
  }

  async #token(identity: Identity): Promise<string> {
    const { token } = this.#options;
    if (typeof token === 'string') return token;
    try {
      return await token();
    } catch (err) {
      throw new CertificateRequestError(identity, 'the bearer token could not be read', {
        cause: err,
      });
    }
  }

  /** Checks the chain and splits it into what the workload presents and what it trusts. */
  #credentials(identity: Identity, certChain: readonly string[]): Omit<IssuedCredentials, 'key'> {
    let certs;
    try {
      // An entry may hold several certificates (some CAs answer with one bundle).
      certs = certChain.flatMap((pem) => parseCertificates(pem));
    } catch (err) {
      throw new CertificateResponseError(identity, 'the chain does not parse', { cause: err });
    }
    const [leaf] = certs;
    const root = certs.at(-1);
    if (leaf === undefined || root === undefined) {
      throw new CertificateResponseError(identity, 'the chain is empty');
    }
    const info = describeCertificate(leaf);
    if (info.identity !== identity) {
      const got = info.uris.length === 0 ? 'no URI SAN' : `URI SANs ${info.uris.join(', ')}`;
      throw new CertificateResponseError(identity, `the leaf certificate carries ${got}`);
    }
    const chain = certs.map(certificatePem);
    return {
      identity,
      chain,
      // Istio's CA ends the chain with its root. A bare leaf can only be checked against the
      // CA we already trust for the control plane, which Ambit's CA also signs with.
      roots: certs.length > 1 ? certificatePem(root) : Buffer.from(this.#options.tls.ca).toString(),
      notBefore: info.notBefore,
      notAfter: info.notAfter,
    };
  }
}
