import { stringify } from 'yaml';
import { UsageError } from './usage.js';

// How commands print what they read: a table for people by default, or the data itself as
// JSON or YAML (`-o json|yaml`) for scripts.

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputFormat(value: string | undefined): OutputFormat {
  const format = (value ?? 'table') === 'wide' ? 'table' : (value ?? 'table');
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format))
    throw new UsageError(
      `-o must be one of json, yaml (or leave it out for a table), not ${format}`,
    );
  return format as OutputFormat;
}

/** Columns padded like kubectl's: upper-case headers, three spaces apart. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** Prints `data` as JSON or YAML, or `rows` as a table (or `empty` when there are none). */
export function print(
  format: OutputFormat,
  data: unknown,
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  empty = 'No resources found.',
): void {
  if (format === 'json') process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  else if (format === 'yaml') process.stdout.write(stringify(data));
  else if (rows.length === 0) console.error(empty);
  else console.log(table(headers, rows));
}

/** How long ago, as kubectl's AGE column: 5s, 3m, 2h, 4d. */
export function age(since: string | undefined, now = Date.now()): string {
  if (since === undefined) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now - Date.parse(since)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}
