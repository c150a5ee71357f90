import type { HeaderMatch, StringMatch } from '../../api/waypoint/config.js';
import { describeStringMatch, shown } from './string-match.js';

/** The first condition of a `RequestMatch` that a request fails, with what it saw. */
export type Mismatch =
  | {
      readonly kind: 'uri';
      readonly match: StringMatch;
      readonly ignoreCase: boolean;
      readonly path: string;
    }
  | { readonly kind: 'method'; readonly match: StringMatch; readonly got: string }
  | { readonly kind: 'authority'; readonly match: StringMatch; readonly got: string }
  | { readonly kind: 'header-missing'; readonly name: string }
  | { readonly kind: 'header-present'; readonly name: string; readonly got: string }
  | {
      readonly kind: 'header-value';
      readonly name: string;
      readonly match: StringMatch;
      readonly got: string;
    }
  | {
      readonly kind: 'without-header';
      readonly header: HeaderMatch;
      readonly got: string | undefined;
    }
  | { readonly kind: 'query-missing'; readonly name: string }
  | {
      readonly kind: 'query-value';
      readonly name: string;
      readonly match: StringMatch;
      readonly got: string;
    }
  | { readonly kind: 'port'; readonly want: number; readonly got: number }
  | { readonly kind: 'source'; readonly allowed: readonly string[]; readonly got: string };

// Enough addresses to recognise the selection without flooding a terminal.
const SOURCES_SHOWN = 3;

function describeSources(allowed: readonly string[]): string {
  if (allowed.length === 0) return 'no workloads';
  const head = allowed.slice(0, SOURCES_SHOWN).join(', ');
  return allowed.length > SOURCES_SHOWN ? `${head}, … (${allowed.length} in all)` : head;
}

/** One line a person can act on: what the route wanted and what the request had. */
export function describeMismatch(m: Mismatch): string {
  switch (m.kind) {
    case 'uri':
      return `uri ${describeStringMatch(m.match)}${m.ignoreCase ? ' (ignoring case)' : ''} does not match ${m.path}`;
    case 'method':
      return `method ${describeStringMatch(m.match)}, got ${m.got}`;
    case 'authority':
      return `authority ${describeStringMatch(m.match)}, got ${shown(m.got)}`;
    case 'header-missing':
      return `header ${m.name} absent`;
    case 'header-present':
      return `header ${m.name} must be absent, got ${shown(m.got)}`;
    case 'header-value':
      return `header ${m.name}: ${describeStringMatch(m.match)}, got ${shown(m.got)}`;
    case 'without-header': {
      const { name, match, absent } = m.header;
      if (absent) return `withoutHeaders: header ${name} absent`;
      if (match === undefined) return `withoutHeaders: header ${name} present`;
      return `withoutHeaders: header ${name}: ${describeStringMatch(match)} matches ${shown(m.got ?? '')}`;
    }
    case 'query-missing':
      return `query parameter ${m.name} absent`;
    case 'query-value':
      return `query parameter ${m.name}: ${describeStringMatch(m.match)}, got ${shown(m.got)}`;
    case 'port':
      return `port ${m.want}, got ${m.got}`;
    case 'source':
      return `source ${m.got} is not a selected source workload (${describeSources(m.allowed)})`;
  }
}
