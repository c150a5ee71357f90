import t from 'tap';
import { parseResources } from './load.js';
import { secretValue } from './kubernetes-secret.js';

t.test('a Secret reads its top-level data as base64 and stringData as text', async (t) => {
  const { resources, errors } = parseResources(
    `apiVersion: v1
kind: Secret
metadata: { name: cred, namespace: istio-system }
type: kubernetes.io/tls
data: { tls.crt: ${Buffer.from('CERT').toString('base64')} }
stringData: { tls.key: KEY }`,
    's.yaml',
  );
  t.same(errors, []);
  const [secret] = resources;
  t.equal(secret?.type, 'Secret');
  if (secret?.type !== 'Secret') return;
  t.equal(secretValue(secret.spec, 'tls.crt'), 'CERT');
  t.equal(secretValue(secret.spec, 'tls.key'), 'KEY');
  t.equal(secret.spec.type, 'kubernetes.io/tls');
});

t.test('a Secret value that is not base64 is rejected by key, without the value', async (t) => {
  const { errors } = parseResources(
    `apiVersion: v1
kind: Secret
metadata: { name: cred }
data: { tls.key: "not base64!!" }`,
    's.yaml',
  );
  t.equal(errors.length, 1);
  t.match(errors[0]?.message, /tls\.key.*must be base64/);
  t.notMatch(errors[0]?.message, /not base64!!/);
});
