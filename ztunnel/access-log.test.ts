import t from 'tap';
import { resolveMeshConfig } from '../api/mesh/config.js';
import { AccessLog } from '../core/telemetry/access-log.js';
import { ConnectionAccessLog } from './access-log.js';
import { connectionLabels } from './metrics.js';

function accessLog(): { log: ConnectionAccessLog; lines: string[] } {
  const lines: string[] = [];
  return {
    log: new ConnectionAccessLog(new AccessLog({ write: (l: string) => lines.push(l) })),
    lines,
  };
}

t.test('MeshConfig switches the node tunnel access log', async (t) => {
  const { log } = accessLog();
  t.equal(log.enabled, false, 'off until MeshConfig says');
  log.configure(resolveMeshConfig({ accessLogFile: '/dev/stdout' }));
  t.equal(log.enabled, true);
  log.configure(resolveMeshConfig({}));
  t.equal(log.enabled, false);
});

t.test("a connection's line has ztunnel's access fields", async (t) => {
  const { log, lines } = accessLog();
  const labels = connectionLabels({
    reporter: 'source',
    sourcePrincipal: 'spiffe://cluster.local/ns/demo/sa/client',
    destinationPrincipal: 'spiffe://cluster.local/ns/demo/sa/echo',
    service: { hostname: 'echo.demo.svc.cluster.local', namespace: 'demo', name: 'echo' },
    mtls: true,
  });
  const connection = {
    direction: 'outbound' as const,
    src: '10.1.0.4:40000',
    dst: '10.96.0.10:80',
    hboneAddr: '10.1.0.5:8080',
    labels,
    startedAt: performance.now(),
  };
  log.complete(connection, { sent: 120, recv: 4096 });
  log.failed({ ...connection, hboneAddr: undefined }, 'no_healthy_upstream');
  const [complete, failed] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(complete, {
    scope: 'access',
    message: 'connection complete',
    direction: 'outbound',
    'src.addr': '10.1.0.4:40000',
    'src.workload': null,
    'src.identity': 'spiffe://cluster.local/ns/demo/sa/client',
    'dst.addr': '10.96.0.10:80',
    'dst.hbone_addr': '10.1.0.5:8080',
    'dst.service': 'echo.demo.svc.cluster.local',
    'dst.identity': 'spiffe://cluster.local/ns/demo/sa/echo',
    bytes_sent: 120,
    bytes_recv: 4096,
    duration: /^\d+ms$/,
  });
  t.match(failed, {
    message: 'connection failed',
    error: 'no_healthy_upstream',
    'dst.hbone_addr': null,
  });
  t.notOk('bytes_sent' in failed!);
});
