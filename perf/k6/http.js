// One GET per iteration, as fast as the answer comes back. k6 keeps each virtual user's
// connection alive across iterations, so the number of VUs is the number of connections.
// Run by perf/k6.ts: `k6 run --vus N --duration D -e URL=http://ip:port/ http.js`.
/* global __ENV */
import http from 'k6/http';

export default function () {
  http.get(__ENV.URL);
}
