import {
  gatewayArgs,
  PROXY_METRICS_PORT,
  SYSTEM_NAMESPACE,
  ZTUNNEL_READINESS_PORT,
} from './components.js';
import type { LocalMesh, Progress } from './mesh.js';
import { getInNetns } from './netns-http.js';
import { isAlive } from './supervisor.js';
import { proxyToken } from './tokens.js';
import { waitUntil } from './wait.js';
import { runPod, type PodRecord } from './workloads.js';

// The ingress gateway of the local mesh, as installing Istio makes istio-ingressgateway: a pod
// in istio-system labelled istio=ingressgateway, outside the mesh (it speaks HBONE itself),
// running `ambit gateway` with its own service account. Gateways selecting that label are
// served on its pod IP, which the host reaches: the root namespace routes every pod CIDR.

export const INGRESS_GATEWAY_POD = 'istio-ingressgateway-0';
export const INGRESS_GATEWAY_SERVICE_ACCOUNT = 'istio-ingressgateway';
export const INGRESS_GATEWAY_LABELS: Readonly<Record<string, string>> = {
  istio: 'ingressgateway',
  app: 'istio-ingressgateway',
};

/** Starts the ingress gateway pod; resolves once it reports ready (synced and certified). */
export async function startIngressGateway(
  mesh: LocalMesh,
  progress: Progress = () => undefined,
): Promise<PodRecord> {
  progress(`starting the ingress gateway ${SYSTEM_NAMESPACE}/${INGRESS_GATEWAY_POD}`);
  const identity = { namespace: SYSTEM_NAMESPACE, serviceAccount: INGRESS_GATEWAY_SERVICE_ACCOUNT };
  const tokenFile = await proxyToken(
    mesh,
    `gateway-${SYSTEM_NAMESPACE}-${INGRESS_GATEWAY_POD}`,
    identity,
  );
  const pod = await runPod(mesh, {
    namespace: SYSTEM_NAMESPACE,
    name: INGRESS_GATEWAY_POD,
    labels: { ...INGRESS_GATEWAY_LABELS, 'istio.io/dataplane-mode': 'none' },
    serviceAccount: INGRESS_GATEWAY_SERVICE_ACCOUNT,
    ports: [
      { containerPort: 80, name: 'http2' },
      { containerPort: 443, name: 'https' },
      { containerPort: PROXY_METRICS_PORT, name: 'metrics' },
      { containerPort: ZTUNNEL_READINESS_PORT, name: 'status-port' },
    ],
    command: [
      mesh.record.ambitBin,
      ...gatewayArgs(
        { name: INGRESS_GATEWAY_POD, ...identity },
        mesh.record.controlPlane,
        tokenFile,
      ),
    ],
    // It binds ports 80 and 443.
    privileged: true,
  });
  await waitUntil(
    `ingress gateway ${SYSTEM_NAMESPACE}/${INGRESS_GATEWAY_POD}`,
    async () => {
      const reply = await getInNetns(
        pod.netnsPath,
        `http://127.0.0.1:${ZTUNNEL_READINESS_PORT}/healthz/ready`,
        1000,
      );
      return reply.status === 200 ? undefined : `/healthz/ready answered ${reply.status}`;
    },
    {
      timeoutMs: 30_000,
      log: pod.log,
      alive: async () => pod.process !== undefined && (await isAlive(pod.process)),
    },
  );
  return pod;
}
