import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { silentLogger } from '../../core/telemetry/log.js';
import { ReloadingTokenAuthenticator } from './reloading-tokens.js';

const ZTUNNEL = `- token: ztunnel-token
  namespace: istio-system
  serviceAccount: ztunnel
  node: node-1
`;
const WAYPOINT = `- token: waypoint-token
  namespace: demo
  serviceAccount: waypoint
`;

t.test(
  'a token added to the file later is let in; a broken file keeps the old tokens',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ambit-tokens-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'tokens.yaml');
    await writeFile(file, ZTUNNEL);
    const auth = await ReloadingTokenAuthenticator.fromFile(file, 'cluster.local', silentLogger());
    t.equal(auth.authenticate('waypoint-token'), undefined);

    await writeFile(`${file}.tmp`, ZTUNNEL + WAYPOINT);
    await rename(`${file}.tmp`, file);
    t.same(auth.authenticate('waypoint-token'), {
      identity: 'spiffe://cluster.local/ns/demo/sa/waypoint',
    });

    await writeFile(`${file}.tmp`, '- token: [broken\n');
    await rename(`${file}.tmp`, file);
    t.equal(auth.authenticate('unknown'), undefined);
    t.ok(auth.authenticate('ztunnel-token'), 'the tokens read before keep working');
  },
);
