import t from 'tap';
import { parseBaseUrl, resolveUpstreams, UpstreamUrlError } from './upstream.js';

t.test('an upstream is host:port or an http URL', async (t) => {
  t.equal(parseBaseUrl('reviews', '10.96.0.3:9080'), 'http://10.96.0.3:9080');
  t.equal(parseBaseUrl('reviews', 'http://reviews:9080/'), 'http://reviews:9080');
  t.equal(parseBaseUrl('reviews', 'http://gw/bookinfo/'), 'http://gw/bookinfo');
  for (const bad of ['https://reviews:9080', 'http://reviews:9080/?x=1', 'reviews:port'])
    t.throws(() => parseBaseUrl('reviews', bad), UpstreamUrlError, bad);
});

t.test("Istio's defaults fill in the upstreams not given", async (t) => {
  t.same(resolveUpstreams({ details: '10.0.0.1:9080' }), {
    details: 'http://10.0.0.1:9080',
    reviews: 'http://reviews:9080',
    ratings: 'http://ratings:9080',
  });
});
