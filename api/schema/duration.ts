/**
 * Durations as Istio's YAML carries them. Istio decodes google.protobuf.Duration fields with
 * Go's time.ParseDuration (through its jsonpb), so "10s", "1.5s", "100ms", "1m" and "1h30m"
 * are all accepted; so is the protobuf JSON form "1.5s", which is a special case of it.
 */

/** A duration string that passed `s.duration()`: "10s", "1.5s", "100ms", "1m", … */
export type DurationString = string & { readonly brand: 'DurationString' };

const UNIT_NS: Readonly<Record<string, number>> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign, as Go accepts
  μs: 1e3, // U+03BC Greek mu, as Go accepts
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

const TERM = /([0-9]*(?:\.[0-9]*)?)([a-zµμ]+)/y;

/**
 * Parses a Go-style duration into nanoseconds, or returns undefined when it is not one.
 * Nanoseconds are kept as a JS number: exact up to about 104 days, far past any timeout.
 */
export function parseDurationNs(text: string): number | undefined {
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0;
  TERM.lastIndex = 0;
  while (TERM.lastIndex < rest.length) {
    const m = TERM.exec(rest);
    if (m === null) return undefined;
    const num = m[1] ?? '';
    const unit = UNIT_NS[m[2] ?? ''];
    if (unit === undefined || num === '' || num === '.') return undefined;
    // Split integer and fraction so "0.001s" is exactly 1e6 ns, not 999999.99…
    const [whole = '0', frac = ''] = num.split('.');
    const fracNs = frac === '' ? 0 : Math.round((Number(`0.${frac}`) * unit * 1e6) / 1e6);
    total += Number(whole) * unit + fracNs;
  }
  return sign * total;
}

/** Parses a duration into milliseconds (possibly fractional), or undefined when invalid. */
export function parseDurationMs(text: string): number | undefined {
  const ns = parseDurationNs(text);
  return ns === undefined ? undefined : ns / 1e6;
}

/** Formats milliseconds the way Istio's docs write durations: "1500ms", "2s", "1m", "1h". */
export function formatDurationMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms !== 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms !== 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** Milliseconds of a duration that already passed validation. */
export function durationMs(value: DurationString): number {
  return (parseDurationNs(value) ?? 0) / 1e6;
}
