/**
 * Whether a request is traced: an incoming decision is honoured (Envoy follows the caller's
 * `sampled` flag so a trace is never cut in the middle); otherwise `percentage` of requests
 * are, drawn at Envoy's resolution (1 in 10 000).
 */
export function decideSampled(
  incoming: boolean | undefined,
  percentage: number,
  random: () => number,
): boolean {
  if (incoming !== undefined) return incoming;
  if (percentage <= 0) return false;
  if (percentage >= 100) return true;
  return Math.floor(random() * 10_000) < Math.round(percentage * 100);
}
