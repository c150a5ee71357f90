import type { RequestRecord } from '../record.js';
import { service, SOURCE_IDENTITY, SOURCE_IP } from './harness.js';

/** A finished request's record as the handler fills it, for telemetry tests. */
export function requestRecord(overrides: Partial<RequestRecord> = {}): RequestRecord {
  return {
    service: 'demo/echo.demo.svc.cluster.local',
    destination: service([], []),
    requestId: '5f1c2c6e-6a7d-4c55-9b1e-2f1d7b4c9a10',
    userAgent: 'curl/8.5.0',
    forwardedFor: undefined,
    span: undefined,
    port: 80,
    protocol: 'http1',
    method: 'GET',
    path: '/',
    authority: 'echo',
    sourceAddress: SOURCE_IP,
    sourceIdentity: SOURCE_IDENTITY,
    status: 200,
    flags: [],
    attempts: 1,
    startedAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    durationMs: 12.4,
    requestBytes: 0,
    responseBytes: 0,
    ...overrides,
  };
}
