import t from 'tap';
import { AdminBindError, AdminServer, json } from './server.js';
import { Counter, createRegistry } from '../telemetry/metrics.js';

t.test('an admin endpoint refuses a non-loopback address', async (t) => {
  t.throws(() => new AdminServer({ host: '0.0.0.0', port: 0, routes: {} }), AdminBindError);
});

t.test('routes answer, unknown paths are 404 and metrics come from the registry', async (t) => {
  const registry = createRegistry();
  new Counter({ name: 'ambit_example_total', help: 'example', registers: [registry] }).inc(3);
  const server = new AdminServer({
    host: '127.0.0.1',
    port: 0,
    registry,
    routes: { '/ready': () => json({ ready: true }) },
  });
  const { port } = await server.listen();
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${port}`;

  const ready = await fetch(`${base}/ready`);
  t.equal(ready.status, 200);
  t.same(await ready.json(), { ready: true });

  t.equal((await fetch(`${base}/nope`)).status, 404);

  for (const path of ['/metrics', '/stats/prometheus']) {
    const metrics = await (await fetch(`${base}${path}`)).text();
    t.match(metrics, /^ambit_example_total 3$/m, path);
  }
});
