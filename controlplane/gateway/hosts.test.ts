import t from 'tap';
import { intersectHosts, parseServerHost } from './hosts.js';

t.test(
  'server hosts carry a namespace: ns/host, ./host (the Gateway namespace), */host, bare',
  async (t) => {
    t.same(parseServerHost('prod/a.example.com', 'gw'), {
      namespace: 'prod',
      host: 'a.example.com',
    });
    t.same(parseServerHost('./A.example.com', 'gw'), { namespace: 'gw', host: 'a.example.com' });
    t.same(parseServerHost('*/a.example.com', 'gw'), { namespace: '*', host: 'a.example.com' });
    t.same(parseServerHost('a.example.com', 'gw'), { namespace: '*', host: 'a.example.com' });
  },
);

t.test('a route host and a server host meet in the more specific one, or not at all', async (t) => {
  t.equal(intersectHosts('a.example.com', '*.example.com'), 'a.example.com');
  t.equal(intersectHosts('*', 'a.example.com'), 'a.example.com');
  t.equal(intersectHosts('*.example.com', '*'), '*.example.com');
  t.equal(intersectHosts('a.example.com', 'b.example.com'), undefined);
});
