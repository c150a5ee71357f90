#!/usr/bin/env node
// The `ambit-cni` plugin (started by bin/ambit-cni). It runs the compiled plugin; from a
// checkout, run `make build` first. Errors here follow the CNI spec's error JSON, since the
// runtime reads stdout.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cni/plugin/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.log(
    JSON.stringify({
      cniVersion: '1.0.0',
      code: 5,
      msg: 'ambit-cni is not built yet',
      details: 'run `make build` in the repository first',
    }),
  );
  process.exit(1);
}
const { main } = await import(entry.href);
process.exitCode = await main();
