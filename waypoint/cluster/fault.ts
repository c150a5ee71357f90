import type { FaultInjection } from '../../api/waypoint/config.js';

/** What fault injection does to one request: wait first, then answer instead of routing. */
export interface FaultDecision {
  readonly delayMs?: number;
  readonly abortStatus?: number;
  /** With `abortStatus`, when the abort is a gRPC one: the `grpc-status` to answer with. */
  readonly abortGrpcStatus?: number;
}

// Istio turns a percentage into parts per million (`uint32(value * 10000)`); Envoy draws
// `random % 1e6 < numerator`.
const PER_MILLION = 1_000_000;

function fires(percentage: number, random: () => number): boolean {
  const numerator = Math.max(0, Math.trunc(percentage * 10_000));
  return Math.floor(random() * PER_MILLION) < numerator;
}

/**
 * Draws the delay and then the abort, each on its own (Envoy's fault filter evaluates the
 * delay first and the abort after it); a percentage may be fractional (0.5 is one request in
 * 200) and 0 never fires.
 */
export function decideFault(
  fault: FaultInjection | undefined,
  random: () => number,
): FaultDecision {
  if (!fault) return {};
  const delay =
    fault.delay && fires(fault.delay.percentage, random) ? fault.delay.fixedDelayMs : undefined;
  const abort = fault.abort && fires(fault.abort.percentage, random) ? fault.abort : undefined;
  return {
    ...(delay !== undefined && { delayMs: delay }),
    ...(abort !== undefined && { abortStatus: abort.httpStatus }),
    ...(abort?.grpcStatus !== undefined && { abortGrpcStatus: abort.grpcStatus }),
  };
}
