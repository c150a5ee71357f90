/** Monotonic milliseconds; injected so tests move time by hand. */
export interface Clock {
  now(): number;
}
