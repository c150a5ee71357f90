import type http from 'node:http';
import { hostname } from 'node:os';
import { MeshError } from '../../core/errors.js';
import { REVIEWERS, REVIEW_TEXT, productId, type Reviewer } from './books.js';
import { propagatedHeaders, REVIEWS_PROPAGATES } from './propagation.js';
import { RATINGS_UNAVAILABLE, type Rating, type ReviewsReply } from './reviews-reply.js';
import {
  createServiceServer,
  jsonReply,
  type BookinfoOptions,
  type BookinfoServer,
  type ServiceRequest,
} from './service.js';
import { getUpstream, jsonObject, resolveUpstreams, type BaseUrl } from './upstream.js';

/**
 * How each version rates (Istio's reviews: ENABLE_RATINGS and STAR_COLOR per version; its
 * ratings client times out after 10 s for black stars, 2.5 s for red).
 */
const VERSIONS = {
  v1: undefined,
  v2: { color: 'black', timeoutMs: 10_000 },
  v3: { color: 'red', timeoutMs: 2_500 },
} as const;

type ReviewsVersion = keyof typeof VERSIONS;

export class ReviewsVersionError extends MeshError {
  readonly code = 'AMBIT_BOOKINFO_REVIEWS_VERSION';
  constructor(readonly version: string) {
    super(`reviews has versions v1, v2 and v3, not ${JSON.stringify(version)}`);
  }
}

/**
 * reviews: `GET /reviews/<id>` answers two reviews. v1 shows no stars and never calls
 * ratings; v2 shows black stars and v3 red ones, from ratings, or "Ratings service is
 * currently unavailable" when ratings fails or is late.
 */
export function createReviewsServer(options: BookinfoOptions): BookinfoServer {
  const version = options.version ?? 'v1';
  if (!Object.hasOwn(VERSIONS, version)) throw new ReviewsVersionError(version);
  const style = VERSIONS[version as ReviewsVersion];
  const { ratings } = resolveUpstreams(options.upstreams);
  const podname = options.name ?? hostname();
  return createServiceServer({
    service: 'reviews',
    options: { ...options, name: podname },
    health: jsonReply(200, { status: 'Reviews is healthy' }),
    route: async (request, agent) => {
      if (request.method !== 'GET' || !request.pathname.startsWith('/reviews/'))
        return jsonReply(404, { error: 'not found' });
      const id = productId(request.pathname);
      if (id === undefined) return jsonReply(400, { error: 'please provide numeric product id' });
      const stars =
        style && (await starsFor(ratings, id, request, { agent, timeoutMs: style.timeoutMs }));
      const reply: ReviewsReply = {
        id: String(id),
        podname,
        reviews: REVIEWERS.map((reviewer) => ({
          reviewer,
          text: REVIEW_TEXT[reviewer],
          ...(style && { rating: ratingOf(stars?.[reviewer], style.color) }),
        })),
      };
      return jsonReply(200, reply);
    },
  });
}

function ratingOf(stars: number | undefined, color: string): Rating {
  return stars === undefined ? { error: RATINGS_UNAVAILABLE } : { stars, color };
}

/** Stars per reviewer from ratings; undefined when it failed, was late or made no sense. */
async function starsFor(
  ratings: BaseUrl,
  id: number,
  request: ServiceRequest,
  call: { agent: http.Agent; timeoutMs: number },
): Promise<Partial<Record<Reviewer, number>> | undefined> {
  try {
    const answer = await getUpstream(`${ratings}/ratings/${id}`, {
      ...call,
      headers: propagatedHeaders(request.headers, REVIEWS_PROPAGATES),
      signal: request.signal,
    });
    if (answer.status !== 200) return undefined;
    const given = jsonObject(answer.body)?.ratings;
    if (typeof given !== 'object' || given === null) return undefined;
    const stars: Partial<Record<Reviewer, number>> = {};
    for (const reviewer of REVIEWERS) {
      const value = (given as Record<string, unknown>)[reviewer];
      if (Number.isInteger(value)) stars[reviewer] = Math.max(0, Math.min(5, value as number));
    }
    return stars;
  } catch {
    return undefined;
  }
}
