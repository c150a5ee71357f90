import * as grpc from '@grpc/grpc-js';
import { create, type JsonValue } from '@bufbuild/protobuf';
import {
  IstioCertificateResponseSchema,
  IstioCertificateService,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from '../../api/gen/istio/v1/auth/ca_pb.js';
import { addService, GrpcStatusError, unaryHandler } from '../../api/grpc/service.js';
import { errorCode } from '../../core/errors.js';
import { describeCertificate, parseCertificate } from '../../core/identity/certificate.js';
import { InvalidCsrError } from '../../core/identity/csr.js';
import {
  InvalidIdentityError,
  type Identity,
  type TrustDomain,
} from '../../core/identity/spiffe.js';
import { Counter, type Registry } from '../../core/telemetry/metrics.js';
import type { Logger } from '../../core/telemetry/log.js';
import type { Authenticator, Caller } from '../auth/authenticator.js';
import { bearerToken } from '../auth/bearer.js';
import { CsrIdentityMismatchError, type CertificateAuthority } from './authority.js';
import {
  defaultNodeTunnelIdentities,
  identityToIssue,
  ImpersonationDeniedError,
  type PodLocator,
} from './impersonation.js';
import { IMPERSONATED_IDENTITY } from '../../core/identity/ca-client.js';

export interface CertificateServiceOptions {
  authority: CertificateAuthority;
  authenticator: Authenticator;
  podLocator: PodLocator;
  trustDomain: TrustDomain;
  /** Callers that may ask for pod identities on their node; default the ztunnel account. */
  nodeTunnelIdentities?: Iterable<Identity>;
  logger: Logger;
  registry: Registry;
}

/** How a request ended; the `result` label of `ambit_ca_requests_total`. */
export type RequestResult =
  | 'issued'
  | 'no_token'
  | 'bad_token'
  | 'invalid_request'
  | 'foreign_identity'
  | 'impersonation_denied'
  | 'error';

const RESULTS: readonly RequestResult[] = [
  'issued',
  'no_token',
  'bad_token',
  'invalid_request',
  'foreign_identity',
  'impersonation_denied',
  'error',
];

/** A refusal: the gRPC status the caller sees and the result it counts as. */
class Refusal extends GrpcStatusError {
  constructor(
    readonly result: RequestResult,
    status: grpc.status,
    details: string,
    options?: { cause?: unknown },
  ) {
    super(status, details, options);
  }
}

/**
 * `istio.v1.auth.IstioCertificateService/CreateCertificate`: authenticates the bearer token,
 * decides which identity the caller may hold, and has the CA sign the CSR for it.
 */
export class CertificateService {
  private readonly requests: Counter<'result'>;
  private readonly nodeTunnelIdentities: ReadonlySet<Identity>;

  constructor(private readonly options: CertificateServiceOptions) {
    this.nodeTunnelIdentities = new Set(
      options.nodeTunnelIdentities ?? defaultNodeTunnelIdentities(options.trustDomain),
    );
    this.requests = new Counter({
      name: 'ambit_ca_requests_total',
      help: 'CreateCertificate requests to the CA, by result',
      labelNames: ['result'],
      registers: [options.registry],
    });
    for (const result of RESULTS) this.requests.inc({ result }, 0);
  }

  /** Registers the service on a grpc-js server. */
  register(server: grpc.Server): void {
    addService(server, IstioCertificateService, {
      createCertificate: unaryHandler((request, call) => this.createCertificate(request, call)),
    });
  }

  private async createCertificate(
    request: IstioCertificateRequest,
    call: grpc.ServerUnaryCall<IstioCertificateRequest, IstioCertificateResponse>,
  ): Promise<IstioCertificateResponse> {
    const log = this.options.logger.child({ peer: call.getPeer() });
    let caller: Caller | undefined;
    let identity: Identity | undefined;
    try {
      caller = this.authenticate(call.metadata);
      identity = this.identityFor(caller, request.metadata?.[IMPERSONATED_IDENTITY]);
      const chain = await this.sign(request, identity);
      const leaf = describeCertificate(parseCertificate(chain[0] ?? ''));
      this.requests.inc({ result: 'issued' });
      log.info(
        {
          identity,
          caller: caller.identity,
          node: caller.node,
          serial: leaf.serial,
          notAfter: leaf.notAfter.toISOString(),
        },
        'certificate issued',
      );
      return create(IstioCertificateResponseSchema, { certChain: chain });
    } catch (err) {
      const refusal =
        err instanceof Refusal
          ? err
          : new Refusal('error', grpc.status.INTERNAL, 'internal error', { cause: err });
      this.requests.inc({ result: refusal.result });
      const { cause } = refusal;
      const context = {
        result: refusal.result,
        caller: caller?.identity,
        node: caller?.node,
        identity,
        reason: cause instanceof Error ? cause.message : refusal.details,
        error: cause === undefined ? undefined : { code: errorCode(cause) },
      };
      if (refusal.result === 'error') log.error(context, 'certificate request failed');
      else log.warn(context, 'certificate request refused');
      throw refusal;
    }
  }

  private authenticate(metadata: grpc.Metadata): Caller {
    const token = bearerToken(metadata);
    if (token === undefined) {
      throw new Refusal('no_token', grpc.status.UNAUTHENTICATED, 'no bearer token');
    }
    const caller = this.options.authenticator.authenticate(token);
    if (caller === undefined) {
      throw new Refusal('bad_token', grpc.status.UNAUTHENTICATED, 'bearer token not accepted');
    }
    return caller;
  }

  private identityFor(caller: Caller, impersonated: JsonValue | undefined): Identity {
    if (impersonated !== undefined && typeof impersonated !== 'string') {
      throw new Refusal(
        'invalid_request',
        grpc.status.INVALID_ARGUMENT,
        `metadata.${IMPERSONATED_IDENTITY} must be a string`,
      );
    }
    try {
      return identityToIssue(caller, impersonated, {
        trustDomain: this.options.trustDomain,
        nodeTunnelIdentities: this.nodeTunnelIdentities,
        podLocator: this.options.podLocator,
      });
    } catch (err) {
      if (err instanceof InvalidIdentityError) {
        throw new Refusal('invalid_request', grpc.status.INVALID_ARGUMENT, err.message, {
          cause: err,
        });
      }
      if (err instanceof ImpersonationDeniedError) {
        throw new Refusal('impersonation_denied', grpc.status.PERMISSION_DENIED, err.message, {
          cause: err,
        });
      }
      throw err;
    }
  }

  private async sign(request: IstioCertificateRequest, identity: Identity): Promise<string[]> {
    // validity_duration is in seconds; zero or less means "no preference".
    const seconds = Number(request.validityDuration);
    try {
      return await this.options.authority.sign({
        csrPem: request.csr,
        identity,
        ttlMs: seconds > 0 ? seconds * 1000 : undefined,
      });
    } catch (err) {
      if (err instanceof InvalidCsrError) {
        throw new Refusal('invalid_request', grpc.status.INVALID_ARGUMENT, err.message, {
          cause: err,
        });
      }
      if (err instanceof CsrIdentityMismatchError) {
        throw new Refusal('foreign_identity', grpc.status.PERMISSION_DENIED, err.message, {
          cause: err,
        });
      }
      throw err;
    }
  }
}
