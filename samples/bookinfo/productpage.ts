import type http from 'node:http';
import { PRODUCTS } from './books.js';
import {
  DETAILS_UNAVAILABLE,
  REVIEWS_UNAVAILABLE,
  renderIndex,
  renderProductPage,
  type Section,
} from './page.js';
import { PRODUCTPAGE_PROPAGATES, propagatedHeaders } from './propagation.js';
import { readReviewsReply, type ReviewsReply } from './reviews-reply.js';
import {
  createServiceServer,
  htmlReply,
  jsonReply,
  type BookinfoOptions,
  type BookinfoServer,
  type ServiceReply,
  type ServiceRequest,
} from './service.js';
import { cookieValue, SESSION_COOKIE, sessionCookies } from './session.js';
import { getUpstream, jsonObject, resolveUpstreams, type BaseUrl } from './upstream.js';

/** productpage's client timeout for every call (Istio's productpage.py: `timeout=3.0`). */
const CALL_TIMEOUT_MS = 3000;
/**
 * Attempts at reviews: Istio's productpage tries twice on purpose ("bug introduced
 * explicitly for illustration in fault injection task"), so a late reviews costs 6 s.
 */
const REVIEWS_ATTEMPTS = 2;

export interface ProductpageOptions extends BookinfoOptions {
  /** Signs session cookies; replicas must share it. Default random per server. */
  readonly sessionSecret?: string;
}

/** An upstream's answer as productpage passes it on: status and JSON, or its error. */
interface Fetched {
  readonly status: number;
  readonly body: Record<string, unknown> | undefined;
}

/**
 * productpage: `GET /productpage` renders the book with its details and reviews, calling
 * details (3 s) and reviews (3 s, twice) with the trace headers it was given and, for a
 * signed-in user, `end-user: <user>`. `POST /login` (form field `username`) signs in with
 * a session cookie, `GET /logout` signs out; `/api/v1/products…` is the JSON API.
 */
export function createProductpageServer(options: ProductpageOptions): BookinfoServer {
  const upstreams = resolveUpstreams(options.upstreams);
  const sessions = sessionCookies(options.sessionSecret);

  const userOf = (request: ServiceRequest): string | undefined => {
    const value = cookieValue(headerText(request.headers.cookie), SESSION_COOKIE);
    return value === undefined ? undefined : sessions.open(value);
  };

  /** GET an upstream path, up to `attempts` times until it answers 200. */
  const fetch = async (
    request: ServiceRequest,
    agent: http.Agent,
    base: BaseUrl,
    path: string,
    attempts = 1,
  ): Promise<Fetched> => {
    const user = userOf(request);
    const headers = {
      ...propagatedHeaders(request.headers, PRODUCTPAGE_PROPAGATES),
      ...(user === undefined ? {} : { 'end-user': user }),
    };
    let last: Fetched = { status: 500, body: undefined };
    for (let attempt = 0; attempt < attempts && !request.signal.aborted; attempt++) {
      try {
        const answer = await getUpstream(`${base}${path}`, {
          headers,
          agent,
          timeoutMs: CALL_TIMEOUT_MS,
          signal: request.signal,
        });
        last = { status: answer.status, body: jsonObject(answer.body) };
        if (answer.status === 200) return last;
      } catch {
        last = { status: 500, body: undefined };
      }
    }
    return last;
  };

  const productPage = async (request: ServiceRequest, agent: http.Agent) => {
    const product = PRODUCTS[0]!;
    const details = await fetch(request, agent, upstreams.details, `/details/${product.id}`);
    const reviews = await fetch(
      request,
      agent,
      upstreams.reviews,
      `/reviews/${product.id}`,
      REVIEWS_ATTEMPTS,
    );
    const reviewsReply = reviews.status === 200 && reviews.body && readReviewsReply(reviews.body);
    return htmlReply(
      200,
      renderProductPage({
        product,
        user: userOf(request),
        details: section(details.status === 200 && details.body, DETAILS_UNAVAILABLE),
        reviews: section<ReviewsReply>(reviewsReply, REVIEWS_UNAVAILABLE),
      }),
    );
  };

  const api = async (request: ServiceRequest, agent: http.Agent): Promise<ServiceReply> => {
    const parts = /^\/api\/v1\/products(?:\/(\d{1,9})(?:\/(reviews|ratings))?)?$/.exec(
      request.pathname,
    );
    if (parts === null) return jsonReply(404, { error: 'not found' });
    const [, id, what] = parts;
    if (id === undefined) return jsonReply(200, PRODUCTS);
    const unavailable = `Sorry, product ${what ?? 'details'} are currently unavailable for this book.`;
    const fetched =
      what === undefined
        ? await fetch(request, agent, upstreams.details, `/details/${id}`)
        : what === 'reviews'
          ? await fetch(request, agent, upstreams.reviews, `/reviews/${id}`, REVIEWS_ATTEMPTS)
          : await fetch(request, agent, upstreams.ratings, `/ratings/${id}`);
    return fetched.status === 200 && fetched.body
      ? jsonReply(200, fetched.body)
      : jsonReply(fetched.status, { error: unavailable });
  };

  return createServiceServer({
    service: 'productpage',
    options,
    health: htmlReply(200, 'Product page is healthy'),
    route: async (request, agent) => {
      const { method, pathname } = request;
      if (method === 'GET' && pathname === '/productpage') return productPage(request, agent);
      if (method === 'POST' && pathname === '/login') {
        const user = new URLSearchParams(request.body).get('username') ?? '';
        return user === ''
          ? redirect(request, signOutCookie())
          : redirect(
              request,
              `${SESSION_COOKIE}=${sessions.seal(user)}; Path=/; HttpOnly; SameSite=Lax`,
            );
      }
      if (method === 'GET' && pathname === '/logout') return redirect(request, signOutCookie());
      if (method === 'GET' && pathname.startsWith('/api/v1/products')) return api(request, agent);
      if (method === 'GET' && (pathname === '/' || pathname === '/index.html'))
        return htmlReply(200, renderIndex());
      return jsonReply(404, { error: 'not found' });
    },
  });
}

function section<T>(value: T | false | undefined, error: string): Section<T> {
  return value ? { ok: true, value } : { ok: false, error };
}

function signOutCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax`;
}

/**
 * Back where the form was (Istio's `redirect(request.referrer)`), on this site only: the
 * referrer's path, else the product page.
 */
function redirect(request: ServiceRequest, cookie: string): ServiceReply {
  let location = '/productpage';
  const referrer = headerText(request.headers.referer);
  if (referrer !== undefined) {
    try {
      const url = new URL(referrer, 'http://productpage');
      location = `${url.pathname}${url.search}`;
    } catch {
      // An unreadable referrer: the product page it is.
    }
  }
  return { status: 302, headers: { location, 'set-cookie': cookie }, body: '' };
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join('; ') : value;
}
