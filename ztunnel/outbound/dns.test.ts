import t from 'tap';
import { resolveHostname } from './dns.js';

t.test('a hostname resolves in the family the client dialled', async (t) => {
  t.equal(await resolveHostname('localhost', '10.0.0.1'), '127.0.0.1');
});

t.test('a name that does not resolve is a HostnameResolveError', async (t) => {
  await t.rejects(resolveHostname('no-such-host.invalid', '10.0.0.1'), {
    code: 'AMBIT_ZTUNNEL_DNS',
  });
});
