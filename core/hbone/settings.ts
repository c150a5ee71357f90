// HBONE's fixed numbers (DESIGN.md §1, HBONE row), shared by the server and the pool so both
// ends of a tunnel advertise the same HTTP/2 settings Istio's ztunnel does.

/** The inbound HBONE port of every mesh workload and waypoint. */
export const HBONE_PORT = 15008;

/** Per-stream flow-control window (SETTINGS_INITIAL_WINDOW_SIZE): 4 MiB. */
export const STREAM_WINDOW = 4 * 1024 * 1024;

/** Per-connection flow-control window, raised with a WINDOW_UPDATE on stream 0: 16 MiB. */
export const CONNECTION_WINDOW = 16 * 1024 * 1024;

/** How often each side pings an HBONE connection. */
export const PING_INTERVAL_MS = 10_000;

/** A connection whose ping has gone unanswered this long is dropped. */
export const PING_TIMEOUT_MS = 20_000;

/** Streams (tunnels) one HBONE connection carries at once, as ztunnel's pool default. */
export const MAX_CONCURRENT_STREAMS = 100;

/** A TLS handshake not finished by then is abandoned, so half-open peers hold no memory. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * The HTTP/2 settings both ends advertise. Frames up to 1 MiB (ztunnel's value) let a busy
 * tunnel move a window in a few frames rather than hundreds of 16 KiB ones.
 */
export const HTTP2_SETTINGS = {
  initialWindowSize: STREAM_WINDOW,
  maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
  maxFrameSize: 1024 * 1024,
  enablePush: false,
} as const;

/**
 * nghttp2 memory (in MB) one session may hold before Node refuses new streams. Node's 10 MB
 * default is below one full connection window, which a slow reader can legitimately fill.
 */
export const MAX_SESSION_MEMORY_MB = 64;
