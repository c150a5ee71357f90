import http from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { send } from './main.js';

// One request as the demo's client pods send it: method, headers and body reach the server,
// the reply comes back whole, and a server that never answers is an error after the timeout.

t.test('send: a POST with headers, then a timeout', async (t) => {
  const seen: { method?: string; header?: string; body: string }[] = [];
  const server = http.createServer((request, response) => {
    if (request.url === '/slow') return;
    let body = '';
    request.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      seen.push({ method: request.method, header: request.headers['end-user'] as string, body });
      response.writeHead(201, { 'x-served': 'yes' }).end('made');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const agent = new http.Agent({ keepAlive: true });
  t.teardown(() => agent.destroy());

  const reply = await send(
    {
      url: new URL(`http://127.0.0.1:${port}/login`),
      method: 'POST',
      headers: { 'end-user': 'jason' },
      body: 'username=jason',
      timeoutMs: 2000,
    },
    agent,
  );
  t.match(reply, { status: 201, body: 'made', headers: { 'x-served': 'yes' } });
  t.same(seen, [{ method: 'POST', header: 'jason', body: 'username=jason' }]);

  const slow = await send(
    { url: new URL(`http://127.0.0.1:${port}/slow`), method: 'GET', headers: {}, timeoutMs: 200 },
    agent,
  );
  t.equal(slow.status, undefined);
  t.equal(slow.error, 'no reply in 200 ms');
});
