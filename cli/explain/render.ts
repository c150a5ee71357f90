/** An explanation for people: the request, numbered steps with their details, the outcome. */
import type { AuthorizationDecision, Explanation, Step } from './explanation.js';

const TITLES: Record<Step['kind'], string> = {
  capture: 'capture',
  destination: 'destination',
  tunnel: 'tunnel',
  'waypoint-authorization': 'authorization at the waypoint (L7)',
  route: 'route at the waypoint',
  fault: 'fault injection',
  resilience: 'timeout and retries',
  destinations: 'destinations',
  'node-tunnel-authorization': "authorization at the destination's node tunnel (L4)",
};

function decisionLines(d: AuthorizationDecision): string[] {
  const peer = `${d.peer.identity ?? 'no identity (plaintext)'} from ${d.peer.address}`;
  const mtls = d.mtls === undefined ? '' : `; mTLS ${d.mtls}`;
  const lines = [
    `${d.at}: ${d.allowed ? 'allowed' : 'DENIED'}, ${d.reason}${d.policy ? ` (${d.policy})` : ''}${mtls}; peer ${peer}`,
  ];
  for (const p of d.policies) {
    const flags = [
      p.matched ? 'matches' : 'does not match',
      p.dryRun ? 'dry run' : '',
      p.note ?? '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(`  ${p.action} ${p.policy}: ${flags}`);
  }
  return lines;
}

function details(step: Step): string[] {
  switch (step.kind) {
    case 'route':
      return step.routes.map(
        (r) =>
          `${r.matched && step.matched?.index === r.index ? '✓' : '✗'} route ${r.index} (${r.origin}): ${r.reason}`,
      );
    case 'destinations':
      return step.destinations.flatMap((d) =>
        d.endpoints.map(
          (e) =>
            `${d.subset ?? d.host}: ${e.workload ?? '?'} ${e.address}:${e.port}${e.healthy ? '' : ' (unhealthy)'}`,
        ),
      );
    case 'node-tunnel-authorization':
      return step.decisions.flatMap(decisionLines);
    case 'waypoint-authorization':
      return step.decision === undefined ? [] : decisionLines(step.decision);
    default:
      return [];
  }
}

export function renderExplanation(e: Explanation): string {
  const { request } = e;
  const headers = Object.entries(request.headers)
    .filter(([k]) => k !== 'host')
    .map(([k, v]) => `, ${k}: ${v}`)
    .join('');
  const lines = [
    `${request.method} ${request.path} from ${request.from} to ${request.to} (Host: ${request.authority}${headers})`,
    '',
  ];
  e.steps.forEach((step, i) => {
    lines.push(`${i + 1}. ${TITLES[step.kind]}: ${step.summary}`);
    for (const line of details(step)) lines.push(`     ${line}`);
  });
  lines.push('', `Outcome: ${e.outcome.summary}`);
  if (e.outcome.chance !== undefined) lines.push(`  by chance: ${e.outcome.chance}`);
  return lines.join('\n');
}
