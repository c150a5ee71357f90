#!/usr/bin/env node
// The `ambit` program (started by bin/ambit). It runs the compiled CLI; from a checkout, run `make build` first.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('ambit: the CLI is not built yet; run `make build` in the repository first');
  process.exit(2);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
