import { Counter, Gauge, type Registry } from '../../core/telemetry/metrics.js';

/** Why a pod that belongs in the mesh is not (fully) enrolled. */
export type EnrollmentFailureReason =
  /** The pod's network namespace disappeared while the agent worked on it. */
  | 'netns_gone'
  /** Installing (or removing) the capture rules failed. */
  | 'capture_rules'
  /** ztunnel answered the pod's add with an error. */
  | 'ztunnel_rejected';

/** Trouble on the zds connection itself. */
export type ZdsErrorReason = 'ack_timeout' | 'ack_error' | 'bad_message';

export interface AgentMetrics {
  readonly enrollmentFailures: Counter<'reason'>;
  readonly enrolledPods: Gauge;
  readonly ztunnelConnected: Gauge;
  readonly zdsErrors: Counter<'reason'>;
}

const FAILURE_REASONS: readonly EnrollmentFailureReason[] = [
  'netns_gone',
  'capture_rules',
  'ztunnel_rejected',
];
const ZDS_ERROR_REASONS: readonly ZdsErrorReason[] = ['ack_timeout', 'ack_error', 'bad_message'];

export function createAgentMetrics(registry: Registry): AgentMetrics {
  const metrics: AgentMetrics = {
    enrollmentFailures: new Counter({
      name: 'ambit_cni_enrollment_failures_total',
      help: 'Pods in the mesh whose enrollment failed, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
    enrolledPods: new Gauge({
      name: 'ambit_cni_enrolled_pods',
      help: 'Pods on this node whose traffic is captured.',
      registers: [registry],
    }),
    ztunnelConnected: new Gauge({
      name: 'ambit_cni_ztunnel_connected',
      help: '1 while a ztunnel holds the zds connection.',
      registers: [registry],
    }),
    zdsErrors: new Counter({
      name: 'ambit_cni_zds_errors_total',
      help: 'Failed exchanges with ztunnel on the zds socket, by reason.',
      labelNames: ['reason'],
      registers: [registry],
    }),
  };
  // Every series exists from the start, so rate() and alerts see a 0 rather than nothing.
  for (const reason of FAILURE_REASONS) metrics.enrollmentFailures.inc({ reason }, 0);
  for (const reason of ZDS_ERROR_REASONS) metrics.zdsErrors.inc({ reason }, 0);
  return metrics;
}
