import t from 'tap';
import { isEmptySelector, selectorMatches } from './selector.js';

const labels = { app: 'reviews', version: 'v2' };

t.test('matchLabels selects a workload carrying every listed label', async (t) => {
  t.equal(selectorMatches({ matchLabels: { app: 'reviews' } }, labels), true);
  t.equal(selectorMatches({ matchLabels: { app: 'reviews', version: 'v2' } }, labels), true);
  t.equal(selectorMatches({ matchLabels: { app: 'reviews', version: 'v1' } }, labels), false);
  t.equal(selectorMatches({ matchLabels: { tier: 'web' } }, labels), false);
});

t.test('a label value must match exactly, including an empty value', async (t) => {
  t.equal(selectorMatches({ matchLabels: { canary: '' } }, { canary: '' }), true);
  t.equal(selectorMatches({ matchLabels: { canary: '' } }, {}), false);
});

t.test('an empty selector selects every workload (Kubernetes semantics)', async (t) => {
  t.equal(isEmptySelector({}), true);
  t.equal(isEmptySelector({ matchLabels: {}, matchExpressions: [] }), true);
  t.equal(isEmptySelector({ matchLabels: { app: 'x' } }), false);
  t.equal(selectorMatches({}, labels), true);
  t.equal(selectorMatches({ matchLabels: {} }, {}), true);
});

t.test(
  'matchExpressions In and NotIn test the value; NotIn holds when the label is missing',
  async (t) => {
    const inV2 = { matchExpressions: [{ key: 'version', operator: 'In', values: ['v1', 'v2'] }] };
    const notInV2 = { matchExpressions: [{ key: 'version', operator: 'NotIn', values: ['v2'] }] };
    t.equal(selectorMatches(inV2, labels), true);
    t.equal(selectorMatches(inV2, { version: 'v3' }), false);
    t.equal(selectorMatches(inV2, {}), false);
    t.equal(selectorMatches(notInV2, labels), false);
    t.equal(selectorMatches(notInV2, { version: 'v1' }), true);
    t.equal(selectorMatches(notInV2, {}), true);
  },
);

t.test('matchExpressions Exists and DoesNotExist test only the key', async (t) => {
  const exists = { matchExpressions: [{ key: 'version', operator: 'Exists' }] };
  const absent = { matchExpressions: [{ key: 'version', operator: 'DoesNotExist' }] };
  t.equal(selectorMatches(exists, labels), true);
  t.equal(selectorMatches(exists, { app: 'reviews' }), false);
  t.equal(selectorMatches(absent, labels), false);
  t.equal(selectorMatches(absent, { app: 'reviews' }), true);
});

t.test('matchLabels and matchExpressions must all hold', async (t) => {
  const selector = {
    matchLabels: { app: 'reviews' },
    matchExpressions: [{ key: 'version', operator: 'NotIn', values: ['v1'] }],
  };
  t.equal(selectorMatches(selector, labels), true);
  t.equal(selectorMatches(selector, { app: 'reviews', version: 'v1' }), false);
  t.equal(selectorMatches(selector, { app: 'ratings', version: 'v2' }), false);
});

t.test('an unknown operator selects nothing', async (t) => {
  t.equal(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Gt' }] }, labels), false);
});

t.test('inherited object properties are not labels', async (t) => {
  t.equal(selectorMatches({ matchLabels: { toString: 'x' } }, {}), false);
  t.equal(
    selectorMatches({ matchExpressions: [{ key: 'constructor', operator: 'Exists' }] }, {}),
    false,
  );
});
