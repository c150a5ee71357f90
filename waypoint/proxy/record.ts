import type { Endpoint, WaypointService } from '../../api/waypoint/config.js';
import type { Identity } from '../../core/identity/spiffe.js';
import type { ActiveSpan } from '../../core/telemetry/tracing/tracer.js';
import { insertFlag, type ResponseFlag } from './flags.js';

/**
 * What happened to one HTTP request, filled in as the request moves through the waypoint and
 * handed to `onRequestDone` when it is over: the facts Istio's request telemetry is made of.
 */
export interface RequestRecord {
  /** `namespace/hostname` of the service the request was addressed to. */
  readonly service: string;
  /** That service's config when the request arrived (names, telemetry settings). */
  readonly destination: WaypointService;
  /** `x-request-id`: the client's, else one made here (UUID v4); sent upstream. */
  readonly requestId: string;
  readonly userAgent: string | undefined;
  readonly forwardedFor: string | undefined;
  /** This hop's span, when tracing is on for the service. */
  readonly span: ActiveSpan | undefined;
  /** The service port it arrived on. */
  readonly port: number;
  readonly protocol: 'http1' | 'http2';
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly sourceAddress: string;
  /** The identity of the tunnel the request came through: the source workload's. */
  readonly sourceIdentity: Identity | undefined;
  /** The matched route's origin, e.g. `VirtualService demo/reviews http[0]`. */
  route?: string;
  cluster?: string;
  /** `address:port` of the endpoint that answered (the last attempt's). */
  endpoint?: string;
  /** That endpoint's config: its workload address and identity, for telemetry. */
  upstream?: Endpoint;
  /** The status sent downstream; 0 when none was (the client went away first). */
  status: number;
  /** Envoy's response flags, in Envoy's order. */
  readonly flags: ResponseFlag[];
  /** Upstream attempts made (retries included). */
  attempts: number;
  /** Wall-clock start, ms since the epoch. */
  readonly startedAt: number;
  /** From arrival to the end of the response, ms. */
  durationMs: number;
  /** From the last attempt's start to its response head, ms; absent when none arrived. */
  upstreamMs?: number;
  /** Request body bytes read from the client. */
  requestBytes: number;
  /** Response body bytes sent to the client (chunk lengths summed, or the local reply's). */
  responseBytes: number;
  /** `grpc-status` of the response head, when it had one. */
  grpcStatus?: string;
}

/** Called once per request when its response is complete or abandoned. */
export type RequestDoneHook = (record: Readonly<RequestRecord>) => void;

/** Sets a flag once (in Envoy's order of flags). */
export function addFlag(record: RequestRecord, flag: ResponseFlag): void {
  insertFlag(record.flags, flag);
}
