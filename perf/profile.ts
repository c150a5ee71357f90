import { chmod, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Scope } from './scope.js';

// CPU profiles of the mesh's own processes. bin/ambit runs the `node` it finds on PATH, and
// the harness passes PATH on (it drops NODE_OPTIONS), so a directory first on PATH holding a
// `node` that adds --cpu-prof reaches every ambit process started after this. V8 writes a
// profile when its process exits, so the ztunnels must be stopped gracefully.

/**
 * From now on every ambit process this one starts writes a V8 CPU profile into
 * `<dir>/raw` when it exits. Returns that directory, which goes at cleanup: call this before
 * starting the mesh, so that its processes have exited (and written) by then.
 */
export async function profileAmbitProcesses(scope: Scope, dir: string): Promise<string> {
  const raw = join(dir, 'raw');
  const shim = join(dir, 'shim');
  await mkdir(raw, { recursive: true });
  await mkdir(shim, { recursive: true });
  const node = join(shim, 'node');
  await writeFile(
    node,
    `#!/bin/sh\nexec '${process.execPath}' --cpu-prof --cpu-prof-dir='${raw}' "$@"\n`,
  );
  await chmod(node, 0o755);
  const path = process.env.PATH;
  process.env.PATH = `${shim}:${path ?? ''}`;
  scope.teardown(async () => {
    process.env.PATH = path;
    await rm(shim, { recursive: true, force: true });
    await rm(raw, { recursive: true, force: true });
  });
  return raw;
}

/**
 * Moves the profiles of the given (exited) processes out of `raw` as
 * `<dir>/<name>.cpuprofile` and returns their paths.
 */
export async function keepProfiles(
  raw: string,
  dir: string,
  names: ReadonlyMap<number, string>,
): Promise<string[]> {
  const kept: string[] = [];
  // Node names them CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile.
  for (const file of await readdir(raw)) {
    const name = names.get(Number(file.split('.')[3]));
    if (name === undefined) continue;
    const to = join(dir, `${name}.cpuprofile`);
    await rename(join(raw, file), to);
    kept.push(to);
  }
  return kept;
}

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  /** Script and line, or '' for V8's own entries ((program), (garbage collector)). */
  where: string;
  selfMs: number;
  /** Of the time the process was not idle. */
  percent: number;
}

/** The functions a profile spent the most self time in, idle time left out. */
export async function hotFunctions(file: string, count: number): Promise<HotFunction[]> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, HotFunction>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id)!;
    if (frame.functionName === '(idle)') return;
    const delta = (profile.timeDeltas[i] ?? 0) / 1000;
    busy += delta;
    const where = frame.url
      ? `${frame.url.replace(/^file:\/\/.*?\/dist\//, '')}:${frame.lineNumber + 1}`
      : '';
    const key = `${frame.functionName}@${where}`;
    const entry = self.get(key) ?? {
      name: frame.functionName || '(anonymous)',
      where,
      selfMs: 0,
      percent: 0,
    };
    entry.selfMs += delta;
    self.set(key, entry);
  });
  return [...self.values()]
    .map((f) => ({ ...f, percent: (100 * f.selfMs) / busy }))
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, count);
}
