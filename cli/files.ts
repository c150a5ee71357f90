import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';

const CONFIG_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export interface ConfigText {
  /** The path as the user gave it (or found under a directory), or `-` for stdin. */
  file: string;
  text: string;
}

/**
 * Expands `-f` arguments the way kubectl does: a file is read as is, a directory is walked
 * recursively for .yaml/.yml/.json files (sorted, so output is stable), `-` reads stdin.
 */
export async function readConfigPaths(paths: string[]): Promise<ConfigText[]> {
  const out: ConfigText[] = [];
  for (const path of paths) {
    if (path === '-') {
      out.push({ file: '-', text: await readStdin() });
      continue;
    }
    const info = await stat(path);
    if (info.isDirectory()) {
      for (const file of await walk(path)) out.push({ file, text: await readFile(file, 'utf8') });
    } else {
      out.push({ file: path, text: await readFile(path, 'utf8') });
    }
  }
  return out;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await walk(path)));
    else if (entry.isFile() && CONFIG_EXTENSIONS.has(extname(entry.name))) files.push(path);
  }
  return files;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
