import { DEFAULT_RATINGS, productId } from './books.js';
import {
  createServiceServer,
  jsonReply,
  type BookinfoOptions,
  type BookinfoServer,
} from './service.js';

/**
 * ratings: `GET /ratings/<id>` answers `{id, ratings: {Reviewer1: 5, Reviewer2: 4}}`;
 * `POST /ratings/<id>` with a JSON object of stars per reviewer replaces them, in memory
 * (Istio's ratings.js, the version without a database).
 */
export function createRatingsServer(options: BookinfoOptions): BookinfoServer {
  const posted = new Map<number, unknown>();
  return createServiceServer({
    service: 'ratings',
    options,
    health: jsonReply(200, { status: 'Ratings is healthy' }),
    route: async (request) => {
      if (!/^\/ratings\/\d*$/.test(request.pathname)) return jsonReply(404, { error: 'not found' });
      const id = productId(request.pathname);
      if (id === undefined) return jsonReply(400, { error: 'please provide numeric product ID' });
      if (request.method === 'GET')
        return jsonReply(200, { id, ratings: posted.get(id) ?? DEFAULT_RATINGS });
      if (request.method !== 'POST') return jsonReply(405, { error: 'method not allowed' });
      let ratings: unknown;
      try {
        ratings = JSON.parse(request.body);
      } catch {
        return jsonReply(400, { error: 'please provide valid ratings JSON' });
      }
      posted.set(id, ratings);
      return jsonReply(200, { id, ratings });
    },
  });
}
