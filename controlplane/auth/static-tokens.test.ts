import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseStaticTokens, StaticTokenAuthenticator, TokenFileError } from './static-tokens.js';

const FILE = `
- token: ztunnel-node-1-token
  namespace: istio-system
  serviceAccount: ztunnel
  node: node-1
- token: sleep-token
  namespace: default
  serviceAccount: sleep
`;

t.test(
  'a token from the file authenticates as its service account, bound to its node',
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ambit-tokens-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'tokens.yaml'), FILE);
    const auth = await StaticTokenAuthenticator.fromFile(join(dir, 'tokens.yaml'), 'cluster.local');
    t.same(auth.authenticate('ztunnel-node-1-token'), {
      identity: 'spiffe://cluster.local/ns/istio-system/sa/ztunnel',
      node: 'node-1',
    });
    t.same(auth.authenticate('sleep-token'), {
      identity: 'spiffe://cluster.local/ns/default/sa/sleep',
    });
  },
);

t.test('an unknown, empty or near-miss token authenticates as nobody', async (t) => {
  const auth = new StaticTokenAuthenticator(
    parseStaticTokens(FILE, 'tokens.yaml', 'cluster.local'),
  );
  t.equal(auth.authenticate('sleep-token2'), undefined);
  t.equal(auth.authenticate('sleep-toke'), undefined);
  t.equal(auth.authenticate(''), undefined);
  t.equal(auth.authenticate('SLEEP-TOKEN'), undefined);
});

t.test('identities take the configured trust domain', async (t) => {
  const [entry] = parseStaticTokens(FILE, 'tokens.yaml', 'example.org');
  t.equal(entry?.caller.identity, 'spiffe://example.org/ns/istio-system/sa/ztunnel');
});

t.test('a malformed token file names the file, the line and the problem', async (t) => {
  const cases: [string, number | undefined, RegExp][] = [
    ['token: a\n', 1, /want a list of token entries/],
    ['- token: a\n  namespace: [x\n', 3, /Flow sequence/],
    ['- token: a\n  namespace: n\n  serviceAccount: s\n- just-a-string\n', 4, /must be a map/],
    ['- token: a\n  namespace: n\n  serviceAccount: s\n  role: admin\n', 1, /unknown field "role"/],
    ['- token: a\n  namespace: n\n', 1, /serviceAccount is missing/],
    ['- namespace: n\n  serviceAccount: s\n', 1, /token is missing/],
    ['- token: 42\n  namespace: n\n  serviceAccount: s\n', 1, /token must be a string/],
    ['- token: a\n  namespace: n\n  serviceAccount: s\n  node: ""\n', 1, /node is empty/],
    ['- token: a\n  namespace: N/x\n  serviceAccount: s\n', 1, /namespace/],
    [
      '- token: a\n  namespace: n\n  serviceAccount: s\n- token: a\n  namespace: m\n  serviceAccount: s\n',
      4,
      /the same token is listed twice/,
    ],
    ['- token: a\n  token: b\n  namespace: n\n  serviceAccount: s\n', 2, /unique/i],
  ];
  for (const [text, line, reason] of cases) {
    t.throws(
      () => parseStaticTokens(text, '/etc/ambit/tokens.yaml', 'cluster.local'),
      {
        name: TokenFileError.name,
        code: 'AMBIT_TOKEN_FILE',
        file: '/etc/ambit/tokens.yaml',
        line,
        reason,
      },
      JSON.stringify(text),
    );
  }
});

t.test('errors about a token file never repeat a token', async (t) => {
  const duplicate =
    '- {token: s3cret, namespace: n, serviceAccount: s}\n- {token: s3cret, namespace: m, serviceAccount: s}\n';
  const syntax = '- token: s3cret\n  namespace: [x\n';
  for (const text of [duplicate, syntax]) {
    const err = t.throws(() => parseStaticTokens(text, 'tokens.yaml', 'cluster.local'));
    t.notMatch(String(err), /s3cret/);
  }
});

t.test('an empty token file admits nobody, and a missing one is an error', async (t) => {
  t.same(parseStaticTokens('', 'tokens.yaml', 'cluster.local'), []);
  await t.rejects(StaticTokenAuthenticator.fromFile('/nonexistent/tokens.yaml', 'cluster.local'), {
    name: TokenFileError.name,
    file: '/nonexistent/tokens.yaml',
    reason: 'cannot be read',
  });
});
