import type { StringMatch } from '../../api/waypoint/config.js';
import { fullMatcher } from './regex.js';

/**
 * Whether `value` satisfies `match`. `ignoreCase` applies to exact and prefix only, as
 * Envoy's `case_sensitive: false` on a route does not reach `safe_regex`.
 */
export function stringMatches(match: StringMatch, value: string, ignoreCase = false): boolean {
  if ('exact' in match) {
    return ignoreCase ? value.toLowerCase() === match.exact.toLowerCase() : value === match.exact;
  }
  if ('prefix' in match) {
    return ignoreCase
      ? value.toLowerCase().startsWith(match.prefix.toLowerCase())
      : value.startsWith(match.prefix);
  }
  return fullMatcher(match, match.regex)?.test(value) ?? false;
}

/** A value as explanations show it: empty strings would otherwise vanish. */
export function shown(value: string): string {
  return value === '' ? '""' : value;
}

/** `exact /a`, `prefix /v2`, `regex ^/v[0-9]+`: how a match reads in explanations. */
export function describeStringMatch(match: StringMatch): string {
  if ('exact' in match) return `exact ${shown(match.exact)}`;
  if ('prefix' in match) return `prefix ${shown(match.prefix)}`;
  const broken = fullMatcher(match, match.regex) === undefined ? ' (does not compile)' : '';
  return `regex ${match.regex}${broken}`;
}
