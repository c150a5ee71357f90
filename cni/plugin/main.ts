import { runPlugin } from './plugin.js';

async function readStdin(): Promise<string> {
  // A runtime may start the plugin with no stdin at all (VERSION from a shell).
  if (process.stdin.isTTY) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The `ambit-cni` program: one CNI invocation per process, as the spec runs plugins. */
export async function main(): Promise<number> {
  const outcome = await runPlugin(process.env, await readStdin());
  if (outcome.stdout !== '') process.stdout.write(`${outcome.stdout}\n`);
  return outcome.exitCode;
}
