import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { native } from './native.js';

const here = dirname(fileURLToPath(import.meta.url));

t.test('the addon is found from the compiled tree and loads', async (t) => {
  t.type(native().socketInNetns, 'function');
});

t.test('a missing addon is an error that says to run make native', async (t) => {
  // The compiled loader, copied where no build of the addon exists above it.
  const root = mkdtempSync(join(tmpdir(), 'ambit-net-loader-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'core/net'), { recursive: true });
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }');
  copyFileSync(join(here, '../errors.js'), join(root, 'core/errors.js'));
  for (const file of ['native.js', 'errors.js'])
    copyFileSync(join(here, file), join(root, 'core/net', file));
  const copy = (await import(pathToFileURL(join(root, 'core/net/native.js')).href)) as {
    native: typeof native;
  };
  t.throws(() => copy.native(), { code: 'AMBIT_NET_ADDON_MISSING', message: /make native/ });
});
