import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { createDetailsServer } from './details.js';
import { DETAILS_UNAVAILABLE, REVIEWS_UNAVAILABLE } from './page.js';
import { createProductpageServer } from './productpage.js';
import { createRatingsServer } from './ratings.js';
import { RATINGS_UNAVAILABLE } from './reviews-reply.js';
import { createReviewsServer, ReviewsVersionError } from './reviews.js';
import type { BookinfoServer } from './service.js';
import { readProductPage, reviewsShown } from './testing/page.js';

// The four services on loopback, wired to each other (or to stubs that record what they
// were sent), over real sockets.

async function started(t: Test, server: BookinfoServer): Promise<string> {
  const { port } = await server.listen('127.0.0.1');
  t.teardown(() => server.close());
  return `127.0.0.1:${port}`;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(
  base: string,
  path: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `http://${base}${path}`,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.once('error', reject);
    req.end(options.body);
  });
}

/** A stand-in upstream that records each request's headers and answers `reply()`. */
async function stub(
  t: Test,
  reply: () => { status: number; body: unknown },
): Promise<{ base: string; seen: http.IncomingHttpHeaders[] }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    const { status, body } = reply();
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  server.on('connection', (socket) => t.teardown(() => socket.destroy()));
  return { base: `127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const REVIEWS_V1 = {
  id: '0',
  podname: 'reviews-stub',
  reviews: [
    { reviewer: 'Reviewer1', text: 'one' },
    { reviewer: 'Reviewer2', text: 'two' },
  ],
};

t.test('details answers the book as JSON', async (t) => {
  const details = await started(t, createDetailsServer({ port: 0 }));
  const answer = await request(details, '/details/0');
  t.equal(answer.status, 200);
  t.match(JSON.parse(answer.body), {
    id: 0,
    type: 'paperback',
    pages: 200,
    publisher: 'PublisherA',
    'ISBN-10': '1234567890',
  });
  t.equal((await request(details, '/details/abc')).status, 400, 'a product id must be numeric');
  t.same(JSON.parse((await request(details, '/health')).body), { status: 'Details is healthy' });
});

t.test('ratings answers stars per reviewer, and takes new ones by POST', async (t) => {
  const ratings = await started(t, createRatingsServer({ port: 0 }));
  t.same(JSON.parse((await request(ratings, '/ratings/0')).body), {
    id: 0,
    ratings: { Reviewer1: 5, Reviewer2: 4 },
  });
  const posted = await request(ratings, '/ratings/1', {
    method: 'POST',
    body: '{"Reviewer1":1,"Reviewer2":2}',
  });
  t.equal(posted.status, 200);
  t.same(JSON.parse((await request(ratings, '/ratings/1')).body).ratings, {
    Reviewer1: 1,
    Reviewer2: 2,
  });
  t.equal((await request(ratings, '/ratings/1', { method: 'POST', body: '{' })).status, 400);
});

t.test('reviews v1 shows no stars and never calls ratings', async (t) => {
  const ratings = createRatingsServer({ port: 0 });
  const reviews = await started(
    t,
    createReviewsServer({
      port: 0,
      version: 'v1',
      upstreams: { ratings: await started(t, ratings) },
    }),
  );
  const reply = JSON.parse((await request(reviews, '/reviews/0')).body);
  t.equal(reply.reviews.length, 2);
  t.notOk(reply.reviews[0].rating, 'no rating');
  t.equal(ratings.served, 0, 'ratings was not called');
});

t.test('reviews v2 and v3 show black and red stars from ratings', async (t) => {
  const ratings = await started(t, createRatingsServer({ port: 0 }));
  for (const [version, color] of [
    ['v2', 'black'],
    ['v3', 'red'],
  ] as const) {
    const reviews = await started(
      t,
      createReviewsServer({ port: 0, version, name: `reviews-${version}`, upstreams: { ratings } }),
    );
    const reply = JSON.parse((await request(reviews, '/reviews/0')).body);
    t.equal(reply.podname, `reviews-${version}`);
    t.same(
      reply.reviews.map((r: { rating: unknown }) => r.rating),
      [
        { stars: 5, color },
        { stars: 4, color },
      ],
      `${version}: ${color} stars`,
    );
  }
});

t.test('reviews passes the trace and user headers on to ratings', async (t) => {
  const ratings = await stub(t, () => ({ status: 200, body: { id: 0, ratings: {} } }));
  const reviews = await started(
    t,
    createReviewsServer({ port: 0, version: 'v2', upstreams: { ratings: ratings.base } }),
  );
  const propagated = {
    'x-request-id': 'r-1',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    'x-b3-traceid': '80f198ee56343ba864fe8b2a57d3eff7',
    'x-b3-spanid': 'e457b5a2e4d86bd1',
    'x-b3-sampled': '1',
    'end-user': 'jason',
  };
  const headers = { ...propagated, 'x-not-propagated': 'no' };
  const reply = JSON.parse((await request(reviews, '/reviews/0', { headers })).body);
  t.match(ratings.seen[0], propagated);
  t.notOk(ratings.seen[0]?.['x-not-propagated'], 'other headers stay behind');
  t.same(
    reply.reviews[0].rating,
    { error: RATINGS_UNAVAILABLE },
    'an answer without a reviewer’s stars shows the error',
  );
});

t.test('reviews v3 gives up on ratings after 2.5 s, v2 waits', async (t) => {
  const ratingsServer = createRatingsServer({ port: 0, faults: { delayMs: 3000 } });
  const ratings = await started(t, ratingsServer);
  const v3 = await started(
    t,
    createReviewsServer({ port: 0, version: 'v3', upstreams: { ratings } }),
  );
  const v2 = await started(
    t,
    createReviewsServer({ port: 0, version: 'v2', upstreams: { ratings } }),
  );
  const startedAt = performance.now();
  const timed = (base: string) =>
    request(base, '/reviews/0').then((answer) => ({
      rating: JSON.parse(answer.body).reviews[0].rating,
      ms: performance.now() - startedAt,
    }));
  const [late, patient] = await Promise.all([timed(v3), timed(v2)]);
  t.same(late.rating, { error: RATINGS_UNAVAILABLE });
  t.ok(late.ms >= 2400 && late.ms < 3000, `v3 answered after ${late.ms.toFixed(0)} ms`);
  t.same(patient.rating, { stars: 5, color: 'black' });
  t.ok(patient.ms >= 3000, 'v2 waited for the late answer');
});

t.test('reviews refuses a version the sample does not have', async (t) => {
  t.throws(() => createReviewsServer({ port: 0, version: 'v4' }), ReviewsVersionError);
});

t.test('a failing ratings shows as "Ratings service is currently unavailable"', async (t) => {
  const ratings = await started(t, createRatingsServer({ port: 0, faults: { failEvery: 1 } }));
  const reviews = await started(
    t,
    createReviewsServer({ port: 0, version: 'v3', upstreams: { ratings } }),
  );
  const reply = JSON.parse((await request(reviews, '/reviews/0')).body);
  t.same(reply.reviews[1].rating, { error: RATINGS_UNAVAILABLE });
});

t.test('the product page renders details and reviews from the whole application', async (t) => {
  const ratings = await started(t, createRatingsServer({ port: 0 }));
  const reviews = await started(
    t,
    createReviewsServer({ port: 0, version: 'v3', name: 'reviews-v3-x', upstreams: { ratings } }),
  );
  const details = await started(t, createDetailsServer({ port: 0 }));
  const productpage = await started(
    t,
    createProductpageServer({ port: 0, upstreams: { details, reviews } }),
  );
  const answer = await request(productpage, '/productpage');
  t.equal(answer.status, 200);
  t.match(answer.headers['content-type'], /^text\/html/);
  t.match(answer.body, 'The Comedy of Errors');
  const view = readProductPage(answer.body);
  t.match(view.details, { Type: 'paperback', Pages: '200', 'ISBN-13': '123-1234567890' });
  t.equal(view.reviewsServedBy, 'reviews-v3-x');
  t.same(view.reviews, [
    { reviewer: 'Reviewer1', color: 'red', stars: 5 },
    { reviewer: 'Reviewer2', color: 'red', stars: 4 },
  ]);
  t.equal(reviewsShown(view), 'red-stars');
  t.equal(view.user, undefined, 'nobody signed in');
});

t.test('sign-in sets a session cookie and productpage sends end-user to reviews', async (t) => {
  const details = await stub(t, () => ({ status: 200, body: { type: 'paperback' } }));
  const reviews = await stub(t, () => ({ status: 200, body: REVIEWS_V1 }));
  const productpage = await started(
    t,
    createProductpageServer({
      port: 0,
      upstreams: { details: details.base, reviews: reviews.base },
    }),
  );
  const login = await request(productpage, '/login', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      referer: 'http://bookinfo/productpage?u=normal',
    },
    body: 'username=jason&passwd=',
  });
  t.equal(login.status, 302);
  t.equal(login.headers.location, '/productpage?u=normal', 'back where the form was');
  const cookie = login.headers['set-cookie']?.[0]?.split(';')[0];
  t.match(cookie, /^session=/);

  const trace = { 'x-request-id': 'abc', traceparent: '00-1-2-01', 'x-b3-traceid': 'b3' };
  const page = await request(productpage, '/productpage', {
    headers: { cookie: cookie!, ...trace },
  });
  t.equal(readProductPage(page.body).user, 'jason');
  t.match(reviews.seen.at(-1), { 'end-user': 'jason', cookie, ...trace });
  t.match(details.seen.at(-1), { 'end-user': 'jason', ...trace });

  const forged = `session=${Buffer.from('admin').toString('base64url')}.${cookie!.split('.')[1]}`;
  await request(productpage, '/productpage', { headers: { cookie: forged } });
  t.equal(reviews.seen.at(-1)?.['end-user'], undefined, 'a forged cookie signs nobody in');
  await request(productpage, '/productpage');
  t.equal(reviews.seen.at(-1)?.['end-user'], undefined, 'anonymous sends no end-user');

  const logout = await request(productpage, '/logout', { headers: { cookie: cookie! } });
  t.match(logout.headers['set-cookie']?.[0], /^session=;.*Max-Age=0/);
});

t.test('a user name is shown as text, never as markup', async (t) => {
  const reviews = await stub(t, () => ({ status: 200, body: REVIEWS_V1 }));
  const details = await stub(t, () => ({ status: 200, body: {} }));
  const productpage = await started(
    t,
    createProductpageServer({
      port: 0,
      upstreams: { details: details.base, reviews: reviews.base },
    }),
  );
  const login = await request(productpage, '/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `username=${encodeURIComponent('<script>x</script>')}`,
  });
  t.equal(login.headers.location, '/productpage', 'no referrer: the product page');
  const cookie = login.headers['set-cookie']![0]!.split(';')[0]!;
  const page = await request(productpage, '/productpage', { headers: { cookie } });
  t.notMatch(page.body, '<script>');
  t.equal(readProductPage(page.body).user, '<script>x</script>');
});

t.test('productpage tries reviews twice, then says reviews are unavailable', async (t) => {
  const details = await started(t, createDetailsServer({ port: 0 }));
  const reviews = await stub(t, () => ({ status: 503, body: { error: 'down' } }));
  const productpage = await started(
    t,
    createProductpageServer({ port: 0, upstreams: { details, reviews: reviews.base } }),
  );
  const view = readProductPage((await request(productpage, '/productpage')).body);
  t.equal(view.reviewsError, REVIEWS_UNAVAILABLE);
  t.equal(reviewsShown(view), 'reviews-unavailable');
  t.equal(reviews.seen.length, 2, 'two attempts');
  t.ok(view.details, 'details still shown');
});

t.test('productpage says details are unavailable when details cannot be reached', async (t) => {
  const closed = createDetailsServer({ port: 0 });
  const gone = await closed.listen('127.0.0.1');
  await closed.close();
  const reviews = await stub(t, () => ({ status: 200, body: REVIEWS_V1 }));
  const productpage = await started(
    t,
    createProductpageServer({
      port: 0,
      upstreams: { details: `http://127.0.0.1:${gone.port}/`, reviews: reviews.base },
    }),
  );
  const view = readProductPage((await request(productpage, '/productpage')).body);
  t.equal(view.detailsError, DETAILS_UNAVAILABLE);
  t.equal(reviewsShown(view), 'no-stars');
});

t.test(
  'faults: every Nth request fails, health never does, a running server changes',
  async (t) => {
    const server = createDetailsServer({ port: 0, faults: { failEvery: 2, failStatus: 500 } });
    const details = await started(t, server);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await request(details, '/details/0')).status);
    t.same(statuses, [200, 500, 200, 500]);
    t.equal((await request(details, '/health')).status, 200);
    t.equal(server.served, 4, 'health is not counted');
    server.faults.failEvery = 0;
    t.equal((await request(details, '/details/0')).status, 200);
  },
);
