import t from 'tap';
import { parseB3Single, parseTraceparent, readTraceContext, writeTraceContext } from './context.js';
import { decideSampled } from './sampling.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

t.test('a W3C traceparent names the parent span and its sampled flag', async (t) => {
  t.same(parseTraceparent(`00-${TRACE}-${SPAN}-01`), {
    parent: { traceId: TRACE, spanId: SPAN },
    sampled: true,
  });
  t.equal(parseTraceparent(`00-${TRACE}-${SPAN}-00`)?.sampled, false);
  // A later version may append fields after a dash (W3C: parse what version 00 defines).
  t.equal(parseTraceparent(`01-${TRACE}-${SPAN}-01-extra`)?.parent.spanId, SPAN);
});

t.test('malformed traceparents are ignored', async (t) => {
  for (const bad of [
    `ff-${TRACE}-${SPAN}-01`,
    `00-${'0'.repeat(32)}-${SPAN}-01`,
    `00-${TRACE}-${'0'.repeat(16)}-01`,
    `00-${TRACE.toUpperCase()}-${SPAN}-01`,
    `00-${TRACE}-${SPAN}-01-extra`,
    `00-${TRACE}-${SPAN}`,
    `00_${TRACE}_${SPAN}_01`,
    'garbage',
    '',
  ])
    t.equal(parseTraceparent(bad), undefined, bad);
});

t.test('B3 single header: ids, decision, parent; or a bare decision', async (t) => {
  t.same(parseB3Single(`${TRACE}-${SPAN}-1`), {
    parent: { traceId: TRACE, spanId: SPAN },
    sampled: true,
  });
  t.same(parseB3Single(`${TRACE}-${SPAN}`), { parent: { traceId: TRACE, spanId: SPAN } });
  t.same(parseB3Single(`${TRACE}-${SPAN}-d-${SPAN}`)?.sampled, true);
  t.same(parseB3Single('0'), { sampled: false });
  // 64-bit trace ids are padded to 128 bits.
  t.equal(
    parseB3Single(`a3ce929d0e0e4736-${SPAN}-1`)?.parent?.traceId,
    `0000000000000000a3ce929d0e0e4736`,
  );
  for (const bad of [`${TRACE}-${SPAN}-x`, `${TRACE}-zz`, `${TRACE}-${SPAN}-1-bad`, 'maybe'])
    t.equal(parseB3Single(bad), undefined, bad);
});

t.test('W3C wins over B3; B3 single over multi; a broken header falls through', async (t) => {
  const b3Multi = { 'x-b3-traceid': TRACE, 'x-b3-spanid': 'aaaaaaaaaaaaaaaa', 'x-b3-sampled': '1' };
  t.equal(
    readTraceContext({ traceparent: `00-${TRACE}-${SPAN}-00`, ...b3Multi })?.parent?.spanId,
    SPAN,
  );
  t.same(readTraceContext({ traceparent: 'broken', ...b3Multi }), {
    parent: { traceId: TRACE, spanId: 'aaaaaaaaaaaaaaaa' },
    sampled: true,
  });
  t.equal(
    readTraceContext({ b3: `${TRACE}-bbbbbbbbbbbbbbbb-0`, ...b3Multi })?.parent?.spanId,
    'bbbbbbbbbbbbbbbb',
  );
  t.same(
    readTraceContext({ traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'vendor=x' })?.parent,
    { traceId: TRACE, spanId: SPAN, tracestate: 'vendor=x' },
  );
  t.same(readTraceContext({ 'x-b3-flags': '1' }), { sampled: true }, 'debug means sampled');
  t.same(readTraceContext({ 'x-b3-traceid': 'xyz', 'x-b3-spanid': SPAN }), undefined);
  t.equal(readTraceContext({}), undefined);
});

t.test('the outgoing context replaces every trace header, in both formats', async (t) => {
  const headers: Record<string, string | string[] | undefined> = {
    'x-b3-flags': '1',
    'x-b3-parentspanid': 'cccccccccccccccc',
    other: 'kept',
  };
  writeTraceContext(headers, {
    traceId: TRACE,
    spanId: 'dddddddddddddddd',
    parentSpanId: SPAN,
    sampled: true,
  });
  t.same(headers, {
    other: 'kept',
    traceparent: `00-${TRACE}-dddddddddddddddd-01`,
    'x-b3-traceid': TRACE,
    'x-b3-spanid': 'dddddddddddddddd',
    'x-b3-parentspanid': SPAN,
    'x-b3-sampled': '1',
    b3: `${TRACE}-dddddddddddddddd-1-${SPAN}`,
  });
});

t.test('sampling honours the caller, else draws the percentage', async (t) => {
  t.equal(
    decideSampled(true, 0, () => 0.99),
    true,
  );
  t.equal(
    decideSampled(false, 100, () => 0),
    false,
  );
  t.equal(
    decideSampled(undefined, 1, () => 0.0099),
    true,
    '1 % takes draws below 0.01',
  );
  t.equal(
    decideSampled(undefined, 1, () => 0.01),
    false,
  );
  t.equal(
    decideSampled(undefined, 0, () => 0),
    false,
  );
  t.equal(
    decideSampled(undefined, 100, () => 0.9999),
    true,
  );
  let sampled = 0;
  let seed = 1;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  for (let i = 0; i < 100_000; i++) if (decideSampled(undefined, 25, random)) sampled++;
  t.ok(sampled > 24_000 && sampled < 26_000, `25 % of 100 000 sampled (${sampled})`);
});
