import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readProductPage, reviewsShown, type ReviewsShown } from '../bookinfo/testing/page.js';
import type { Reply } from '../curl/main.js';

// How the demo acts: the `ambit` commands a user would type (printed as they run, with the
// state directory in $AMBIT_STATE_DIR so that lines stay short), and `samples/curl` run in a
// pod with `ambit local exec`.

const ROOT = new URL('../../../', import.meta.url);
export const AMBIT = fileURLToPath(new URL('bin/ambit', ROOT));
export const MANIFESTS = fileURLToPath(new URL('samples/demo/manifests/', ROOT));
export const CURL = fileURLToPath(new URL('dist/samples/curl/main.js', ROOT));
export const BOOKINFO = fileURLToPath(new URL('dist/samples/bookinfo/main.js', ROOT));

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export class Shell {
  constructor(
    readonly stateDir: string,
    private readonly say: (line: string) => void,
  ) {}

  /** Runs `ambit ARGS`; `show` prints the command (and `output` its stdout) for the viewer. */
  async ambit(
    args: readonly string[],
    options: {
      show?: boolean;
      output?: boolean;
      check?: boolean;
      display?: readonly string[];
    } = {},
  ): Promise<Ran> {
    const { show = true, output = false, check = true } = options;
    if (show) this.say(`  $ ambit ${(options.display ?? args).map(quote).join(' ')}`);
    const ran = await run(AMBIT, args, { ...process.env, AMBIT_STATE_DIR: this.stateDir });
    if (output && ran.stdout.trim() !== '')
      for (const line of ran.stdout.trimEnd().split('\n')) this.say(`    ${line}`);
    if (check && ran.code !== 0)
      throw new Error(
        `ambit ${args.join(' ')} exited ${ran.code}: ${(ran.stderr || ran.stdout).trim()}`,
      );
    return ran;
  }

  apply(file: string, show = true): Promise<Ran> {
    return this.ambit(['apply', '-f', `${MANIFESTS}${file}`], {
      show,
      output: show,
      display: ['apply', '-f', `samples/demo/manifests/${file}`],
    });
  }

  /** `curl` in a pod: one JSON reply per request. */
  async curl(
    pod: string,
    url: string,
    options: {
      count?: number;
      concurrency?: number;
      headers?: readonly string[];
      data?: string;
      timeoutMs?: number;
      show?: boolean;
    } = {},
  ): Promise<Reply[]> {
    const args = [
      url,
      '--json',
      ...(options.count ? ['-n', String(options.count)] : []),
      ...(options.concurrency ? ['-c', String(options.concurrency)] : []),
      ...(options.headers ?? []).flatMap((h) => ['-H', h]),
      ...(options.data === undefined ? [] : ['-d', options.data]),
      ...(options.timeoutMs ? ['-m', String(options.timeoutMs)] : []),
    ];
    if (options.show ?? true)
      this.say(
        `  $ ambit local exec ${pod} -- curl ${args
          .filter((a) => a !== '--json')
          .map(quote)
          .join(' ')}`,
      );
    const ran = await this.ambit(['local', 'exec', pod, '--', process.execPath, CURL, ...args], {
      show: false,
      check: false,
    });
    const replies = ran.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Reply);
    if (replies.length === 0)
      throw new Error(`curl in ${pod} printed no reply (exit ${ran.code}): ${ran.stderr.trim()}`);
    return replies;
  }
}

/** What each product page showed, counted: `{ 'no-stars': 18, 'red-stars': 2 }`. */
export function pagesShown(replies: readonly Reply[]): Record<string, number> {
  return count(replies.map(pageShown));
}

export function pageShown(reply: Reply): ReviewsShown | 'error' | `HTTP ${number}` {
  if (reply.error !== undefined) return 'error';
  if (reply.status !== 200) return `HTTP ${reply.status!}`;
  return reviewsShown(readProductPage(reply.body ?? ''));
}

export function count(items: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[item] = (counts[item] ?? 0) + 1;
  return counts;
}

function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
