import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runStandalone, untilSignalled } from '../../core/program/flags.js';
import { deployBookinfo } from './deploy.js';
import { scenarios, type Outcome } from './scenarios.js';
import { Shell } from './shell.js';

export const USAGE = `usage: demo [--state-dir DIR] [--exit]

Istio's Bookinfo on a local Ambit mesh: starts the mesh (\`ambit local up\`), deploys Bookinfo
in the ambient namespace bookinfo behind a waypoint and the ingress gateway, walks through
traffic management and security scenarios (each PASS or FAIL), prints the product page's URL
and keeps the mesh up until Ctrl-C; then \`ambit local down\`.

  --state-dir DIR   the mesh's state directory (default /run/ambit/demo); must be new or empty
  --exit            tear down after the walk-through
exit code 0 when every scenario passed, 1 otherwise`;

const DEFAULT_STATE_DIR = '/run/ambit/demo';

const say = (line: string): void => console.log(line);

export async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'state-dir': { type: 'string', default: DEFAULT_STATE_DIR },
      exit: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const started = performance.now();
  const shell = new Shell(values['state-dir']!, say);
  // Ctrl-C during the walk-through still tears down; the signal only ends the wait below.
  const interrupted = untilSignalled();
  let results: Outcome[] = [];
  try {
    if (
      values['state-dir'] === DEFAULT_STATE_DIR &&
      existsSync(join(DEFAULT_STATE_DIR, 'mesh.json'))
    ) {
      // The demo's own directory: what is there is an earlier demo that did not finish.
      say(`== Removing an earlier demo's mesh in ${DEFAULT_STATE_DIR}`);
      await shell.ambit(['local', 'down', '--state-dir', DEFAULT_STATE_DIR], { show: false });
    }
    say('== Starting a local mesh: 2 nodes, control plane, node tunnels, ingress gateway');
    await shell.ambit(['local', 'up', '--nodes', '2', '--state-dir', shell.stateDir], {
      output: true,
    });
    const app = await deployBookinfo(shell, say);
    results = await Promise.race([
      scenarios(shell, app, say),
      interrupted.then(() => [] as Outcome[]),
    ]);
    const failed = results.filter((r) => !r.pass);
    say('');
    say('== Summary');
    for (const r of results) say(`  ${r.pass ? 'PASS' : 'FAIL'}  ${r.title}`);
    say(
      `  ${results.length - failed.length} of ${results.length} scenarios passed in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
    say('');
    say(`Bookinfo through the ingress gateway: http://${app.gatewayIp}/productpage`);
    say(
      `  (sign in as jason for v2's black stars; \`AMBIT_STATE_DIR=${shell.stateDir} ambit get vs -A\`, \`… ambit proxy-status\`)`,
    );
    if (!values.exit) {
      say('The mesh stays up until Ctrl-C.');
      // Signal handlers alone do not keep Node running; this timer does, until the signal.
      const keepAlive = setInterval(() => undefined, 1 << 30);
      await interrupted;
      clearInterval(keepAlive);
    }
    return failed.length === 0 && results.length > 0 ? 0 : 1;
  } finally {
    say(`== Tearing down: ambit local down --state-dir ${shell.stateDir}`);
    await shell.ambit(['local', 'down', '--state-dir', shell.stateDir], {
      show: false,
      output: true,
      check: false,
    });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href)
  runStandalone('demo', USAGE, main);
