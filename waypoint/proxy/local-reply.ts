import type { Downstream } from './downstream.js';
import type { HeaderMap } from './headers.js';
import type { RequestRecord } from './record.js';

// The bodies Envoy gives the replies it makes itself, so clients and scripts that look for
// them (and people who know them from Istio) see the same text.

export const NO_HEALTHY_UPSTREAM = 'no healthy upstream';
export const UPSTREAM_TIMEOUT = 'upstream request timeout';
export const FAULT_ABORT = 'fault filter abort';

/** Why an upstream exchange broke before its response head, in Envoy's words. */
export type ResetReason = 'connection failure' | 'connection termination' | 'overflow';

/** Envoy's body for a request whose upstream failed before the response head. */
export function upstreamResetBody(reason: ResetReason, retried: boolean): string {
  return retried
    ? `upstream connect error or disconnect/reset before headers. retried and the latest reset reason: ${reason}`
    : `upstream connect error or disconnect/reset before headers. reset reason: ${reason}`;
}

/** Answers the request from the waypoint itself, with a plain-text body (none if empty). */
export function replyLocally(
  downstream: Downstream,
  record: RequestRecord,
  status: number,
  body: string,
  headers: HeaderMap = {},
): void {
  record.status = status;
  record.responseBytes = body === '' ? 0 : Buffer.byteLength(body);
  downstream.respond(
    status,
    body === '' ? headers : { 'content-type': 'text/plain', ...headers },
    body === '' ? undefined : body,
  );
}
