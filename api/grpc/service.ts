import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, DescMethod, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import * as grpc from '@grpc/grpc-js';
import { MeshError } from '../../core/errors.js';

// Binds protobuf-es generated services (GenService) to @grpc/grpc-js, so servers and clients
// exchange typed messages and the wire paths come from the .proto files:
// /<package>.<Service>/<Method>, e.g. /istio.v1.auth.IstioCertificateService/CreateCertificate.
// Methods are keyed by their generated localName (createCertificate, deltaAggregatedResources).

type MethodShape = GenServiceMethods[string];
type Input<T extends MethodShape> = MessageShape<T['input']>;
type Output<T extends MethodShape> = MessageShape<T['output']>;

/** The grpc-js server handler for one method, by its kind. */
export type ServerHandler<T extends MethodShape> = T['methodKind'] extends 'unary'
  ? grpc.handleUnaryCall<Input<T>, Output<T>>
  : T['methodKind'] extends 'server_streaming'
    ? grpc.handleServerStreamingCall<Input<T>, Output<T>>
    : T['methodKind'] extends 'client_streaming'
      ? grpc.handleClientStreamingCall<Input<T>, Output<T>>
      : grpc.handleBidiStreamingCall<Input<T>, Output<T>>;

/** A server's implementation of a whole service: one handler per method. */
export type ServiceImplementation<M extends GenServiceMethods> = {
  [K in keyof M]: ServerHandler<M[K]>;
};

/** Per-call options for client calls. */
export interface CallOptions {
  metadata?: grpc.Metadata;
  deadline?: grpc.Deadline;
  /** Aborting cancels the call (the peer sees CANCELLED). */
  signal?: AbortSignal;
}

/**
 * The client side of one method, by its kind. Unary calls return a promise; bidi streams the
 * grpc-js duplex. The mesh's services (CA, ADS) use only these two kinds, so the one-sided
 * stream kinds have no client (`never`) until a service needs them.
 */
export type ClientMethod<T extends MethodShape> = T['methodKind'] extends 'unary'
  ? (request: MessageInitShape<T['input']>, options?: CallOptions) => Promise<Output<T>>
  : T['methodKind'] extends 'bidi_streaming'
    ? (options?: CallOptions) => grpc.ClientDuplexStream<Input<T>, Output<T>>
    : never;

/** A typed client for a whole service: one function per method. */
export type ServiceClient<M extends GenServiceMethods> = {
  readonly [K in keyof M]: ClientMethod<M[K]>;
};

/** A client call ended with a non-OK gRPC status. */
export class GrpcCallError extends MeshError {
  readonly code = 'AMBIT_GRPC_CALL';
  readonly status: grpc.status;
  readonly details: string;
  readonly metadata: grpc.Metadata;

  constructor(
    readonly path: string,
    cause: grpc.ServiceError,
  ) {
    super(`gRPC call ${path} failed with ${grpc.status[cause.code]}: ${cause.details}`, { cause });
    this.status = cause.code;
    this.details = cause.details;
    this.metadata = cause.metadata;
  }
}

/**
 * Thrown by a handler passed to unaryHandler to answer with a specific gRPC status; the details
 * are sent to the caller, so they must not contain secrets.
 */
export class GrpcStatusError extends MeshError {
  readonly code = 'AMBIT_GRPC_STATUS';

  constructor(
    readonly status: grpc.status,
    readonly details: string,
    options?: { cause?: unknown },
  ) {
    super(`${grpc.status[status]}: ${details}`, options);
  }
}

/** The gRPC path of a method: /<service type name>/<method name>. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

function serializer<D extends DescMessage>(schema: D): (message: MessageShape<D>) => Buffer {
  return (message) => {
    const bytes = toBinary(schema, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer<D extends DescMessage>(schema: D): (bytes: Buffer) => MessageShape<D> {
  return (bytes) => fromBinary(schema, bytes);
}

/** The grpc-js definition of a generated service, for Server.addService or Client constructors. */
export function serviceDefinition<M extends GenServiceMethods>(
  service: GenService<M>,
): grpc.ServiceDefinition<ServiceImplementation<M>> {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: methodPath(method),
      requestStream:
        method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream:
        method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
      originalName: method.name,
    } as grpc.MethodDefinition<unknown, unknown>;
  }
  return definition as grpc.ServiceDefinition<ServiceImplementation<M>>;
}

/**
 * Registers a typed implementation of a generated service on a grpc-js server. Methods left out
 * answer UNIMPLEMENTED (e.g. an xDS server that only speaks the delta protocol).
 */
export function addService<M extends GenServiceMethods>(
  server: grpc.Server,
  service: GenService<M>,
  implementation: Partial<ServiceImplementation<M>>,
): void {
  server.addService(
    serviceDefinition(service),
    implementation as unknown as grpc.UntypedServiceImplementation,
  );
}

/**
 * Adapts an async function to a grpc-js unary handler. A GrpcStatusError becomes its status;
 * anything else becomes INTERNAL without details and is passed to `onInternalError` (to log it).
 */
export function unaryHandler<I, O>(
  handle: (request: I, call: grpc.ServerUnaryCall<I, O>) => Promise<O>,
  onInternalError?: (error: unknown) => void,
): grpc.handleUnaryCall<I, O> {
  return (call, callback) => {
    handle(call.request, call).then(
      (response) => callback(null, response),
      (error: unknown) => {
        if (error instanceof GrpcStatusError) {
          callback({ code: error.status, details: error.details });
          return;
        }
        onInternalError?.(error);
        callback({ code: grpc.status.INTERNAL, details: 'internal error' });
      },
    );
  };
}

function grpcCallOptions(options: CallOptions): grpc.CallOptions {
  return options.deadline === undefined ? {} : { deadline: options.deadline };
}

function cancelOnAbort(call: { cancel(): void }, signal: AbortSignal | undefined): () => void {
  if (signal === undefined) return () => {};
  if (signal.aborted) {
    call.cancel();
    return () => {};
  }
  const onAbort = (): void => call.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

function clientMethod(channel: grpc.Client, method: DescMethod): unknown {
  const path = methodPath(method);
  const serialize = serializer(method.input);
  const deserialize = deserializer(method.output);
  switch (method.methodKind) {
    case 'unary':
      return (request: MessageInitShape<DescMessage>, options: CallOptions = {}) =>
        new Promise((resolve, reject) => {
          let release = (): void => {};
          const call = channel.makeUnaryRequest(
            path,
            serialize,
            deserialize,
            create(method.input, request),
            options.metadata ?? new grpc.Metadata(),
            grpcCallOptions(options),
            (error, response) => {
              release();
              if (error) reject(new GrpcCallError(path, error));
              else resolve(response);
            },
          );
          release = cancelOnAbort(call, options.signal);
        });
    case 'server_streaming':
    case 'client_streaming':
      return undefined;
    case 'bidi_streaming':
      return (options: CallOptions = {}) => {
        const call = channel.makeBidiStreamRequest(
          path,
          serialize,
          deserialize,
          options.metadata ?? new grpc.Metadata(),
          grpcCallOptions(options),
        );
        call.once('status', cancelOnAbort(call, options.signal));
        return call;
      };
  }
}

/**
 * A typed client for a generated service over an existing grpc-js channel. Several services may
 * share one channel (e.g. the CA and xDS on the control plane's address); the caller closes it.
 */
export function bindClient<M extends GenServiceMethods>(
  service: GenService<M>,
  channel: grpc.Client,
): ServiceClient<M> {
  const client: Record<string, unknown> = {};
  for (const method of service.methods) client[method.localName] = clientMethod(channel, method);
  return client as ServiceClient<M>;
}
