import { bookDetails, productId } from './books.js';
import {
  createServiceServer,
  jsonReply,
  type BookinfoOptions,
  type BookinfoServer,
} from './service.js';

/**
 * details: `GET /details/<id>` answers the book's details as JSON (Istio's details.rb; the
 * external book service option is left out: it needs the Internet).
 */
export function createDetailsServer(options: BookinfoOptions): BookinfoServer {
  return createServiceServer({
    service: 'details',
    options,
    health: jsonReply(200, { status: 'Details is healthy' }),
    route: async (request) => {
      if (request.method !== 'GET' || !request.pathname.startsWith('/details'))
        return jsonReply(404, { error: 'not found' });
      const id = productId(request.pathname);
      if (id === undefined) return jsonReply(400, { error: 'please provide numeric product id' });
      return jsonReply(200, bookDetails(id));
    },
  });
}
