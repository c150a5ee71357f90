import { setFlagsFromString } from 'node:v8';
import { compileRe2 } from '../../api/schema/regex.js';

/**
 * Regexes from config, compiled once per config object and run as Envoy runs them.
 *
 * Envoy uses RE2, which runs in time linear in the input; V8's default engine backtracks,
 * and a pattern such as `(a+)+$` takes minutes on a 40-character path. V8 can hand a
 * regex that backtracks too much (50 000 steps) to its linear-time engine, which accepts
 * the subset RE2 accepts (no back-references, no look-around) and gives the same answers.
 * Running on that engine from the start is ~70× slower for everyday patterns, so the
 * fallback is what is turned on, the first time a config regex is compiled. The V8 option
 * is process-wide; it changes no result, only how long a pathological match may take.
 * Patterns that engine declines (case-insensitive `(?i)`, counted repetition over ~16)
 * keep backtracking.
 */

let fallbackEnabled = false;

function compile(source: string, flags: string): RegExp {
  if (!fallbackEnabled) {
    setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
    fallbackEnabled = true;
  }
  return new RegExp(source, flags);
}

/** `null`: the pattern does not compile here (validation should have refused it). */
type Compiled = RegExp | null;

const fullMatchers = new WeakMap<object, Compiled>();
const globalMatchers = new WeakMap<object, Compiled>();

function cached(
  cache: WeakMap<object, Compiled>,
  key: object,
  build: () => RegExp,
): RegExp | undefined {
  let re = cache.get(key);
  if (re === undefined) {
    try {
      re = build();
    } catch {
      re = null;
    }
    cache.set(key, re);
  }
  return re ?? undefined;
}

/**
 * A RegExp that tests whether a whole string matches `pattern` (Envoy's `safe_regex` is a
 * full match), compiled once per `key` — the config object holding the pattern. Undefined
 * when the pattern does not compile; callers treat that as no match.
 */
export function fullMatcher(key: object, pattern: string): RegExp | undefined {
  return cached(fullMatchers, key, () => {
    const re = compileRe2(pattern);
    return compile(`^(?:${re.source})$`, re.flags);
  });
}

/**
 * A global RegExp for replacing every match of `pattern` (Envoy's `regex_rewrite` uses
 * RE2::GlobalReplace), compiled once per `key`.
 */
export function globalMatcher(key: object, pattern: string): RegExp | undefined {
  return cached(globalMatchers, key, () => {
    const re = compileRe2(pattern);
    return compile(re.source, `${re.flags}g`);
  });
}
