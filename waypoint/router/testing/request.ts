import type { RoutableRequest } from '../request.js';

/** A request to `reviews:9080` from 10.1.0.10, with the fields a test cares about replaced. */
export function request(fields: Partial<RoutableRequest> = {}): RoutableRequest {
  return {
    method: 'GET',
    path: '/',
    authority: 'reviews:9080',
    headers: {},
    port: 9080,
    sourceAddress: '10.1.0.10',
    ...fields,
  };
}
