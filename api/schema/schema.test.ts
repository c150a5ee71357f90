import t from 'tap';
import { s, parse, validate, toOpenAPI } from './index.js';
import type { Infer } from './index.js';

const port = s.integer({ minimum: 1, maximum: 65535 });
const destination = s
  .object({
    host: s.string(),
    subset: s.string().optional(),
    port: s.object({ number: port.optional() }).optional(),
  })
  .check((v, ctx) => {
    if (v.subset === 'bad') ctx.issue('subset', 'must not be bad');
  }, 'subset must not be bad.');

t.test('an inferred type matches the fields, optional ones as ?:', async (t) => {
  const d: Infer<typeof destination> = { host: 'reviews', port: { number: 9080 } };
  const e: Infer<typeof destination> = { host: 'reviews' };
  t.equal(d.port?.number, 9080);
  t.equal(e.subset, undefined);
});

t.test('a valid value parses to itself with nulls dropped', async (t) => {
  const r = parse(destination, { host: 'reviews', subset: null, port: { number: 80 } });
  t.same(r, { ok: true, value: { host: 'reviews', port: { number: 80 } }, issues: [] });
});

t.test('every issue is collected with its field path', async (t) => {
  const issues = validate(
    s.object({ http: s.array(s.object({ route: s.array(destination) })) }),
    { http: [{ route: [{ host: 'a' }, { host: 3, port: { number: 0 }, weight: 1 }] }] },
    'spec',
  );
  t.same(issues, [
    { path: 'spec.http[0].route[1].host', reason: 'must be a string' },
    { path: 'spec.http[0].route[1].port.number', reason: 'must be between 1 and 65535' },
    { path: 'spec.http[0].route[1].weight', reason: 'unknown field' },
  ]);
});

t.test('a check runs on a well-shaped value and reports at its relative path', async (t) => {
  t.same(validate(destination, { host: 'a', subset: 'bad' }, 'spec'), [
    { path: 'spec.subset', reason: 'must not be bad' },
  ]);
});

t.test('required fields, enums, integers and types are named in the reason', async (t) => {
  const action = s.enumOf('ALLOW', 'DENY', 'AUDIT', 'CUSTOM');
  t.same(validate(action, 'NOPE'), [
    { path: '', reason: 'must be one of ALLOW, DENY, AUDIT, CUSTOM' },
  ]);
  t.same(validate(port, 1.5), [{ path: '', reason: 'must be an integer' }]);
  t.same(validate(destination, {}), [{ path: 'host', reason: 'is required' }]);
  t.same(validate(s.boolean(), 'true'), [{ path: '', reason: 'must be a boolean' }]);
});

t.test('validation never throws on any JSON value', async (t) => {
  const values: unknown[] = [null, undefined, 0, 'x', [], [null], { __proto__: null }, true, NaN];
  for (const v of values) {
    t.doesNotThrow(() => validate(destination, v));
    t.doesNotThrow(() => validate(s.map(destination), v));
    t.doesNotThrow(() => validate(s.array(destination), v));
  }
});

t.test('map keys that are not identifiers are quoted in the path', async (t) => {
  t.same(validate(s.map(s.string()), { 'app.kubernetes.io/name': 1 }, 'metadata.labels'), [
    { path: 'metadata.labels["app.kubernetes.io/name"]', reason: 'must be a string' },
  ]);
});

t.test('a default fills an absent field and is published', async (t) => {
  const o = s.object({ weight: s.integer().default(1) });
  t.same(parse(o, {}), { ok: true, value: { weight: 1 }, issues: [] });
  t.equal(toOpenAPI(o).properties?.weight?.default, 1);
});

t.test('oneOf reports the second field set and a missing required one', async (t) => {
  const m = s
    .object({ exact: s.string().optional(), prefix: s.string().optional() })
    .oneOf(['exact', 'prefix'], { required: true });
  t.same(validate(m, { exact: 'a', prefix: 'b' }), [
    { path: 'prefix', reason: 'cannot be set together with exact' },
  ]);
  t.same(validate(m, {}), [{ path: '', reason: 'one of exact, prefix is required' }]);
  t.same(validate(m, { prefix: '/' }), []);
});

t.test('OpenAPI output is structural and carries bounds, enums and notes', async (t) => {
  const o = toOpenAPI(destination);
  t.same(o, {
    type: 'object',
    description: 'subset must not be bad.',
    required: ['host'],
    properties: {
      host: { type: 'string' },
      subset: { type: 'string' },
      port: {
        type: 'object',
        properties: { number: { type: 'integer', minimum: 1, maximum: 65535 } },
      },
    },
  });
  t.same(toOpenAPI(s.map(s.intOrString())), {
    type: 'object',
    additionalProperties: { 'x-kubernetes-int-or-string': true },
  });
  t.same(toOpenAPI(s.any()), { 'x-kubernetes-preserve-unknown-fields': true });
});

t.test('ignored unknown fields are dropped, not reported', async (t) => {
  const o = s.object({ a: s.string() }, { unknownFields: 'ignore' });
  t.same(parse(o, { a: 'x', b: 2 }), { ok: true, value: { a: 'x' }, issues: [] });
  t.equal(toOpenAPI(o)['x-kubernetes-preserve-unknown-fields'], true);
});
