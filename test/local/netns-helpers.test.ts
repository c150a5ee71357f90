import t from 'tap';
import http from 'node:http';
import { randomPrefix } from '../../local/names.js';
import { createCluster } from '../../local/topology.js';
import { connectIn, exchange, httpGetIn, listenIn } from '../support/netns.js';

const cluster = await createCluster({ prefix: randomPrefix(), nodes: 1 });
t.teardown(() => cluster.destroy());
const node = cluster.nodes[0]!;

t.test(
  'an HTTP GET reaches a server on a node’s loopback, which the root cannot see',
  async (t) => {
    const app = http.createServer((req, res) => res.end(`hello ${req.url}`));
    await listenIn(t, node.netnsPath, { address: '127.0.0.1', port: 15000 }, (socket) =>
      app.emit('connection', socket),
    );
    const reply = await httpGetIn(node.netnsPath, 'http://127.0.0.1:15000/config_dump');
    t.equal(reply.status, 200);
    t.equal(reply.body, 'hello /config_dump');
    await t.rejects(
      httpGetIn('/proc/self/ns/net', 'http://127.0.0.1:15000/', 1000),
      { code: 'ECONNREFUSED' },
      'the root namespace’s loopback is another one',
    );
  },
);

t.test('a connection made inside a namespace comes from that namespace’s address', async (t) => {
  const server = await listenIn(
    t,
    '/proc/self/ns/net',
    { address: cluster.bridgeIp, port: 0 },
    (s) => s.end(String(s.remoteAddress)),
  );
  const { port } = server.address() as { port: number };
  t.equal(await exchange(node.netnsPath, { address: cluster.bridgeIp, port }, ''), node.ip);
  await t.rejects(connectIn(node.netnsPath, { address: '127.0.0.1', port }), {
    code: 'ECONNREFUSED',
  });
});
