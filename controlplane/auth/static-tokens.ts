import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { MeshError } from '../../core/errors.js';
import { identityOf, InvalidIdentityError } from '../../core/identity/spiffe.js';
import type { Authenticator, Caller } from './authenticator.js';

/** The static token file cannot be read or one of its entries is malformed. */
export class TokenFileError extends MeshError {
  readonly code = 'AMBIT_TOKEN_FILE';
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}${line === undefined ? '' : `:${line}`}: ${reason}`, options);
  }
}

export interface StaticToken {
  token: string;
  caller: Caller;
}

const FIELDS = new Set(['token', 'namespace', 'serviceAccount', 'node']);

/**
 * Tokens listed in a file, like kube-apiserver's static token file but in YAML:
 *
 *     - token: 3f1c…
 *       namespace: istio-system
 *       serviceAccount: ztunnel
 *       node: node-1        # only for callers bound to a node (node tunnels)
 *
 * Only SHA-256 digests of the tokens are kept, and a lookup compares the digest of the
 * presented token with every entry in constant time, so neither timing nor a heap dump tells
 * a token.
 */
export class StaticTokenAuthenticator implements Authenticator {
  private readonly entries: { digest: Buffer; caller: Caller }[];

  constructor(tokens: readonly StaticToken[]) {
    this.entries = tokens.map(({ token, caller }) => ({ digest: digest(token), caller }));
  }

  static async fromFile(file: string, trustDomain: string): Promise<StaticTokenAuthenticator> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new TokenFileError(file, undefined, 'cannot be read', { cause: err });
    }
    return new StaticTokenAuthenticator(parseStaticTokens(text, file, trustDomain));
  }

  authenticate(token: string): Caller | undefined {
    const presented = digest(token);
    let found: Caller | undefined;
    for (const entry of this.entries) {
      // No early exit: every lookup costs the same whichever entry matches.
      if (timingSafeEqual(presented, entry.digest)) found ??= entry.caller;
    }
    return found;
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Parses a static token file's text; errors name the file and line. */
export function parseStaticTokens(text: string, file: string, trustDomain: string): StaticToken[] {
  const lines = new LineCounter();
  // prettyErrors off: a pretty message quotes the source line, which may hold a token.
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const lineOf = (node: Node | null | undefined): number | undefined =>
    node?.range ? lines.linePos(node.range[0]).line : undefined;
  const [syntaxError] = doc.errors;
  if (syntaxError !== undefined) {
    throw new TokenFileError(file, lines.linePos(syntaxError.pos[0]).line, syntaxError.message);
  }
  if (doc.contents === null) return [];
  if (!isSeq(doc.contents)) {
    throw new TokenFileError(file, lineOf(doc.contents), 'want a list of token entries');
  }
  const tokens: StaticToken[] = [];
  const seen = new Set<string>();
  for (const item of doc.contents.items) {
    const line = isMap(item) || isScalar(item) || isSeq(item) ? lineOf(item) : undefined;
    const fail = (reason: string): TokenFileError => new TokenFileError(file, line, reason);
    if (!isMap(item)) throw fail('an entry must be a map with token, namespace, serviceAccount');
    const fields: Record<string, string> = {};
    for (const pair of item.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      if (!FIELDS.has(key)) {
        throw fail(`unknown field ${JSON.stringify(key)}; want ${[...FIELDS].join(', ')}`);
      }
      if (!isScalar(pair.value) || typeof pair.value.value !== 'string') {
        throw new TokenFileError(
          file,
          lineOf(pair.value as Node) ?? line,
          `${key} must be a string`,
        );
      }
      fields[key] = pair.value.value;
    }
    const { token, namespace, serviceAccount, node } = fields;
    if (!token) throw fail('token is missing or empty');
    if (!namespace) throw fail('namespace is missing or empty');
    if (!serviceAccount) throw fail('serviceAccount is missing or empty');
    if (node === '') throw fail('node is empty; leave it out for callers not bound to a node');
    if (seen.has(token)) throw fail('the same token is listed twice');
    seen.add(token);
    let identity;
    try {
      identity = identityOf({ trustDomain, namespace, serviceAccount });
    } catch (err) {
      if (!(err instanceof InvalidIdentityError)) throw err;
      throw new TokenFileError(file, line, err.reason, { cause: err });
    }
    tokens.push({ token, caller: node === undefined ? { identity } : { identity, node } });
  }
  return tokens;
}
