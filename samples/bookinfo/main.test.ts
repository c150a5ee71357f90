import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { readProductPage, reviewsShown } from './testing/page.js';

// The services as programs, the way a pod runs them: an unprivileged user, flags, a log
// line saying where each listens, a clean exit on SIGTERM.

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

function env(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env, AMBIT_LOG_LEVEL: 'info' };
  delete out.NODE_OPTIONS;
  for (const key of Object.keys(out))
    if (key.startsWith('TAP') || key.startsWith('_TAPJS')) delete out[key];
  return out;
}

interface Running {
  child: ReturnType<typeof spawn>;
  listening: Record<string, unknown>;
  address: string;
}

async function run(t: Test, args: string[]): Promise<Running> {
  const child = spawn(NOBODY[0]!, [...NOBODY.slice(1), process.execPath, MAIN, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: env(),
  });
  t.teardown(() => void child.kill('SIGKILL'));
  const lines: string[] = [];
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stderr! }).on('line', (text) => {
      lines.push(text);
      if (!text.startsWith('{')) return;
      const parsed = JSON.parse(text) as Record<string, unknown>;
      if (parsed.msg === 'bookinfo listening') resolve(parsed);
    });
    child.once('exit', (code) => reject(new Error(`bookinfo exited ${code}: ${lines.join('\n')}`)));
  });
  return { child, listening, address: `127.0.0.1:${String(listening.port)}` };
}

t.test('four programs make the application; each exits 0 on SIGTERM', async (t) => {
  const local = ['--port', '0', '--host', '127.0.0.1'];
  const ratings = await run(t, ['--service', 'ratings', ...local]);
  const reviews = await run(t, [
    ...['--service', 'reviews', '--version', 'v2', '--name', 'reviews-v2-0'],
    ...['--ratings', ratings.address, ...local],
  ]);
  const details = await run(t, ['--service', 'details', ...local]);
  const productpage = await run(t, [
    ...['--service', 'productpage', '--details', `http://${details.address}`],
    ...['--reviews', reviews.address, ...local],
  ]);
  t.match(reviews.listening, { service: 'reviews', version: 'v2', pod: 'reviews-v2-0' });

  const page = await fetch(`http://${productpage.address}/productpage`);
  t.equal(page.status, 200);
  const view = readProductPage(await page.text());
  t.equal(reviewsShown(view), 'black-stars');
  t.equal(view.reviewsServedBy, 'reviews-v2-0');
  t.ok(view.details, 'details shown');

  for (const { child } of [productpage, details, reviews, ratings]) {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    t.equal(code, 0);
  }
});

t.test('faults by flag', async (t) => {
  const ratings = await run(t, [
    ...['--service', 'ratings', '--fail-every', '1', '--fail-status', '500'],
    ...['--port', '0', '--host', '127.0.0.1'],
  ]);
  t.equal((await fetch(`http://${ratings.address}/ratings/0`)).status, 500);
  t.equal((await fetch(`http://${ratings.address}/health`)).status, 200);
});

t.test('a bad flag exits 2 with the usage', async (t) => {
  for (const args of [
    ['--service', 'frontpage'],
    ['--service', 'reviews', '--version', 'v9'],
    ['--service', 'productpage', '--details', 'https://details'],
    ['--service', 'details', '--port', 'x'],
  ]) {
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: env(),
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    t.equal(code, 2, args.join(' '));
    t.match(stderr, /usage: bookinfo/);
  }
});
