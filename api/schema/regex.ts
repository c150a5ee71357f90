/**
 * Regular expressions in Istio config are RE2 (Go's regexp at validation, Envoy's RE2 at
 * match time). JavaScript's RegExp is close enough for the patterns people write once a few
 * spellings are translated; features RE2 refuses (look-around, back-references) are refused
 * here too, so a pattern that validates here also loads in Envoy.
 */

/** Istio's limit on regex length in config. */
export const MAX_REGEX_LENGTH = 1024;

const RE2_UNSUPPORTED: ReadonlyArray<[RegExp, string]> = [
  [/\(\?<?[=!]/, 'look-around assertions are not supported by RE2'],
  [/(^|[^\\])\\[1-9]/, 'back-references are not supported by RE2'],
];

/** Why `pattern` is not an acceptable Istio regex, or undefined when it is. */
export function regexProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) {
    return `must be at most ${MAX_REGEX_LENGTH} characters`;
  }
  for (const [feature, reason] of RE2_UNSUPPORTED) {
    if (feature.test(pattern)) return `must be a valid RE2 regular expression: ${reason}`;
  }
  try {
    compileRe2(pattern);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    return `must be a valid regular expression: ${detail}`;
  }
  return undefined;
}

/**
 * Compiles an RE2 pattern to a JS RegExp matching the same strings. The result is not
 * anchored: callers that need Envoy's full-string match wrap it as `^(?:…)$`.
 * Throws a SyntaxError when the pattern does not compile.
 */
export function compileRe2(pattern: string): RegExp {
  let source = pattern;
  // No 'u' flag: without it JS, like RE2, accepts escaped punctuation such as \: or \-.
  let flags = '';
  // RE2 leading flag groups such as (?i) or (?s) become RegExp flags.
  const lead = /^\(\?([imsU]+)\)/.exec(source);
  if (lead !== null) {
    for (const f of lead[1] ?? '') {
      if (f === 'i' || f === 'm' || f === 's') flags += f;
    }
    source = source.slice(lead[0].length);
  }
  // RE2 writes named groups (?P<name>…); JS writes (?<name>…).
  source = source.replace(/\(\?P</g, '(?<');
  return new RegExp(source, flags);
}
