/**
 * How a Bookinfo service misbehaves on purpose, so that the mesh's retries, timeouts and
 * outlier detection have something to act on. Istio's ratings has `v-faulty` (half the
 * requests fail) and `v-delayed` (half wait 7 s) for this, at random; these are
 * deterministic, and tests may change the fields of a running server's `faults`.
 */
export interface ServiceFaults {
  /** Every Nth request (counting from 1, `/health` not counted) fails; 0 never. */
  failEvery: number;
  /** The status of a failing answer (Istio's ratings answers 503). */
  failStatus: number;
  /** Wait this long before every answer, failing or not. */
  delayMs: number;
}

export const NO_FAULTS: Readonly<ServiceFaults> = { failEvery: 0, failStatus: 503, delayMs: 0 };

/** Whether the `served`-th request (counting from 1) is one that fails. */
export function failsRequest(faults: ServiceFaults, served: number): boolean {
  return faults.failEvery > 0 && served % faults.failEvery === 0;
}
