import t from 'tap';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnalysisMessage } from '../../controlplane/analyze/message.js';
import { runAmbit, tempDir } from '../support/ambit.js';

// `bin/ambit analyze` on files, as a user runs it: the table, json, the summary, and
// istioctl's exit code (79) when a finding reaches the failure threshold.

const GOOD = `apiVersion: v1
kind: Namespace
metadata: { name: shop, labels: { istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint } }
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: { name: waypoint, namespace: shop }
spec:
  gatewayClassName: istio-waypoint
  listeners: [{ name: mesh, port: 15008, protocol: HBONE }]
---
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: shop }
spec: { clusterIP: 10.96.0.10, selector: { app: reviews }, ports: [{ name: http, port: 9080 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: reviews-v1, namespace: shop, labels: { app: reviews, version: v1 } }
spec: { containers: [{ name: app }] }
status: { phase: Running, podIP: 10.0.0.1 }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: reviews, namespace: shop }
spec: { host: reviews, subsets: [{ name: v1, labels: { version: v1 } }] }
`;

const SUBSET_TYPO = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: reviews, namespace: shop }
spec:
  hosts: [reviews]
  http:
  - route: [{ destination: { host: reviews, subset: v3 } }]
`;

const SELECTS_NOTHING = `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: nobody, namespace: shop }
spec: { selector: { matchLabels: { app: revews } } }
`;

t.test('ambit analyze', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'good.yaml'), GOOD);
  const typo = join(dir, 'typo.yaml');
  await writeFile(typo, SUBSET_TYPO);
  const warning = join(dir, 'warning.yaml');
  await writeFile(warning, SELECTS_NOTHING);

  t.test('a clean config: nothing to report, exit 0', async (t) => {
    const result = await runAmbit(['analyze', '-f', join(dir, 'good.yaml')]);
    t.equal(result.code, 0);
    t.equal(result.stdout, '');
    t.match(result.stderr, /No validation issues found when analyzing 5 resource\(s\)/);
  });

  t.test('an error: a table row with code, level, resource, field and fix; exit 79', async (t) => {
    const result = await runAmbit(['analyze', '-f', join(dir, 'good.yaml'), '-f', typo]);
    t.equal(result.code, 79);
    const [header, row, ...rest] = result.stdout.trimEnd().split('\n');
    t.match(header, /^CODE\s+LEVEL\s+RESOURCE\s+MESSAGE$/);
    t.match(
      row,
      /^IST0101\s+Error\s+VirtualService shop\/reviews \(.*typo\.yaml:1\)\s+spec\.http\[0\]\.route\[0\]\.destination\.subset: Referenced host\+subset/,
    );
    t.match(row, /Fix: add subset v3/);
    t.same(rest, []);
    t.match(result.stderr, /1 error\(s\), 0 warning\(s\), 0 info message\(s\) in 6 resource\(s\)/);
  });

  t.test('a directory, json output, and the failure threshold', async (t) => {
    const result = await runAmbit(['analyze', '--config', dir, '-o', 'json']);
    t.equal(result.code, 79);
    const messages = JSON.parse(result.stdout) as AnalysisMessage[];
    t.same(
      messages.map((m) => [
        m.code,
        m.level,
        `${m.resource.kind} ${m.resource.namespace}/${m.resource.name}`,
        m.field,
      ]),
      [
        [
          'IST0101',
          'Error',
          'VirtualService shop/reviews',
          'spec.http[0].route[0].destination.subset',
        ],
        ['IST0127', 'Warning', 'AuthorizationPolicy shop/nobody', 'spec.selector.matchLabels'],
      ],
    );
    const warningsOnly = await runAmbit(['analyze', '-f', join(dir, 'good.yaml'), '-f', warning]);
    t.equal(warningsOnly.code, 0, 'a warning is below the default threshold (Error)');
    const strict = await runAmbit([
      'analyze',
      '-f',
      join(dir, 'good.yaml'),
      '-f',
      warning,
      '--failure-threshold',
      'Warning',
    ]);
    t.equal(strict.code, 79);
  });

  t.test('a document that fails validation is IST0106 with its line', async (t) => {
    const bad = join(dir, 'bad', 'bad.yaml');
    await mkdir(join(dir, 'bad'));
    await writeFile(bad, SUBSET_TYPO.replace('  - route:', '  - timeout: soon\n    route:'));
    const result = await runAmbit(['analyze', '-f', bad, '-o', 'yaml']);
    t.equal(result.code, 79);
    t.match(result.stdout, /code: IST0106/);
    t.match(result.stdout, /field: spec\.http\[0\]\.timeout/);
    t.match(result.stdout, /line: 7/);
  });

  t.test('usage mistakes exit 2', async (t) => {
    t.equal((await runAmbit(['analyze'])).code, 2);
    t.equal((await runAmbit(['analyze', '-f', dir, '-o', 'xml'])).code, 2);
    t.equal((await runAmbit(['analyze', '-f', dir, '--failure-threshold', 'Fatal'])).code, 2);
  });
});
