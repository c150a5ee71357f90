import t from 'tap';
import { httpbinBody, httpbinRoute } from './httpbin.js';

t.test("httpbin's paths as Istio's docs call them", async (t) => {
  t.same(httpbinRoute('/status/418'), { kind: 'status', status: 418 });
  t.same(httpbinRoute('/delay/2'), { kind: 'delay', delayMs: 2000 });
  t.same(httpbinRoute('/delay/60'), { kind: 'delay', delayMs: 10_000 }, 'capped at 10 s');
  t.same(httpbinRoute('/headers?x=1'), { kind: 'headers' });
  t.same(httpbinRoute('/get'), { kind: 'get' });
  t.equal(httpbinRoute('/status/99'), undefined);
  t.equal(httpbinRoute('/other'), undefined);
});

t.test('/headers and /get answer in Title-Case, with the query as args', async (t) => {
  const request = {
    path: '/get?a=1',
    host: 'httpbin.example.com',
    headers: { 'x-forwarded-proto': 'https', host: 'httpbin.example.com' },
    sourceAddress: '10.0.0.1',
  };
  t.same(JSON.parse(httpbinBody({ kind: 'headers' }, request)), {
    headers: { 'X-Forwarded-Proto': 'https', Host: 'httpbin.example.com' },
  });
  t.same(JSON.parse(httpbinBody({ kind: 'get' }, request)).args, { a: '1' });
});
