import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runAmbit, tempDir } from '../support/ambit.js';

const VALID = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
  namespace: bookinfo
spec:
  host: reviews
  subsets:
    - name: v1
      labels: { version: v1 }
`;

const INVALID = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
  namespace: bookinfo
spec:
  hosts: [reviews]
  http:
    - route:
        - destination: { host: reviews }
      timeout: 1.5ms
`;

t.test('ambit validate exits 0 for valid files', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'dr.yaml'), VALID);
  const result = await runAmbit(['validate', '-f', join(dir, 'dr.yaml')]);
  t.equal(result.code, 0, result.stderr);
  t.equal(result.stdout, '');
  t.match(result.stderr, /1 resource\(s\) valid/);
});

t.test(
  'ambit validate prints one line per error naming file, line, object, field and reason',
  async (t) => {
    const dir = await tempDir(t);
    await writeFile(join(dir, 'a-good.yaml'), VALID);
    await writeFile(join(dir, 'b-bad.yaml'), INVALID);
    const result = await runAmbit(['validate', '-f', dir]);
    t.equal(result.code, 1);
    const lines = result.stdout.trim().split('\n');
    t.equal(lines.length, 1, result.stdout);
    t.match(
      lines[0],
      `${join(dir, 'b-bad.yaml')}:11: VirtualService bookinfo/reviews: spec.http[0].timeout: `,
    );
    t.match(lines[0], /millisecond/);
    t.match(result.stderr, /1 error\(s\); 1 valid resource\(s\)/);
  },
);

t.test('ambit validate reads standard input', async (t) => {
  const result = await runAmbit(['validate', '-f', '-'], { input: INVALID });
  t.equal(result.code, 1);
  t.match(result.stdout, /^-:11: VirtualService bookinfo\/reviews: spec\.http\[0\]\.timeout: /);
});

t.test('ambit validate without input is a usage error', async (t) => {
  const result = await runAmbit(['validate']);
  t.equal(result.code, 2);
  t.match(result.stderr, /no input/);
});
