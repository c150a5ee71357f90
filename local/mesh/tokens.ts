import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import type { TokenEntry } from './components.js';
import type { LocalMesh } from './mesh.js';

/**
 * A token for a pod of the mesh's own (a waypoint, the ingress gateway), added to the control
 * plane's tokens file (which it re-reads when it meets a token it does not know). The file
 * `tokens/<subject>` holds it; it is kept when asked again.
 */
export async function proxyToken(
  mesh: LocalMesh,
  subject: string,
  identity: { namespace: string; serviceAccount: string },
): Promise<string> {
  const file = mesh.layout.tokenFile(subject);
  const kept = await readFile(file, 'utf8').catch(() => undefined);
  if (kept !== undefined) return file;
  const entry: TokenEntry = { token: randomBytes(16).toString('hex'), ...identity };
  await writeFile(file, entry.token, { mode: 0o600 });
  const entries = parse(await readFile(mesh.layout.tokensFile, 'utf8')) as TokenEntry[];
  const temporary = `${mesh.layout.tokensFile}.tmp`;
  await writeFile(temporary, stringify([...entries, entry]), { mode: 0o600 });
  await rename(temporary, mesh.layout.tokensFile);
  return file;
}
