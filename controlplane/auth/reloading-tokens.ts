import { readFileSync, statSync } from 'node:fs';
import type { Logger } from '../../core/telemetry/log.js';
import type { Authenticator, Caller } from './authenticator.js';
import { parseStaticTokens, StaticTokenAuthenticator } from './static-tokens.js';

/**
 * The static token file, re-read when a token is not found and the file changed since the
 * last read, so callers added later (a waypoint deployed into a running local mesh) are
 * let in without a restart. A file that no longer parses is logged and ignored: the tokens
 * read last keep working. A known token never costs a file system call.
 */
export class ReloadingTokenAuthenticator implements Authenticator {
  #current: StaticTokenAuthenticator;
  #stamp: string;

  private constructor(
    readonly file: string,
    readonly trustDomain: string,
    readonly logger: Logger,
    first: StaticTokenAuthenticator,
  ) {
    this.#current = first;
    this.#stamp = stampOf(file);
  }

  static async fromFile(
    file: string,
    trustDomain: string,
    logger: Logger,
  ): Promise<ReloadingTokenAuthenticator> {
    const first = await StaticTokenAuthenticator.fromFile(file, trustDomain);
    return new ReloadingTokenAuthenticator(file, trustDomain, logger, first);
  }

  authenticate(token: string): Caller | undefined {
    const found = this.#current.authenticate(token);
    if (found !== undefined || !this.#reload()) return found;
    return this.#current.authenticate(token);
  }

  /** True when a changed file was read. */
  #reload(): boolean {
    const stamp = stampOf(this.file);
    if (stamp === this.#stamp) return false;
    this.#stamp = stamp;
    try {
      const text = readFileSync(this.file, 'utf8');
      this.#current = new StaticTokenAuthenticator(
        parseStaticTokens(text, this.file, this.trustDomain),
      );
      this.logger.info({ file: this.file }, 'token file re-read');
      return true;
    } catch (err) {
      this.logger.warn(
        { err, file: this.file },
        'token file changed but cannot be used; kept the tokens read before',
      );
      return false;
    }
  }
}

function stampOf(file: string): string {
  try {
    const info = statSync(file);
    return `${info.mtimeMs}:${info.size}:${info.ino}`;
  } catch {
    return 'missing';
  }
}
