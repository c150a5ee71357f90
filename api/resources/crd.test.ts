import t from 'tap';
import type { OpenAPISchema } from '../schema/index.js';
import { crdFor, crds } from './crd.js';
import { definitions } from './networking.js';
import { registry } from './registry.js';

/** Paths of every node that breaks Kubernetes' structural-schema rules. */
function nonStructural(node: OpenAPISchema, path: string): string[] {
  const out: string[] = [];
  const typed =
    node.type !== undefined ||
    node['x-kubernetes-preserve-unknown-fields'] === true ||
    node['x-kubernetes-int-or-string'] === true;
  if (!typed) out.push(`${path}: no type`);
  if (node.type === 'array' && node.items === undefined) out.push(`${path}: array without items`);
  if (node.properties !== undefined && node.additionalProperties !== undefined) {
    out.push(`${path}: both properties and additionalProperties`);
  }
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    out.push(...nonStructural(child, `${path}.${key}`));
  }
  if (node.items !== undefined) out.push(...nonStructural(node.items, `${path}[]`));
  if (node.additionalProperties !== undefined) {
    out.push(...nonStructural(node.additionalProperties, `${path}{}`));
  }
  return out;
}

t.test('every mesh CRD schema is structural and plain JSON', async (t) => {
  const all = crds();
  t.same(
    all.map((c) => c.metadata.name),
    [
      'virtualservices.networking.istio.io',
      'destinationrules.networking.istio.io',
      'gateways.networking.istio.io',
      'serviceentries.networking.istio.io',
      'workloadentries.networking.istio.io',
      'peerauthentications.security.istio.io',
      'authorizationpolicies.security.istio.io',
      'requestauthentications.security.istio.io',
      'gateways.gateway.networking.k8s.io',
      'httproutes.gateway.networking.k8s.io',
      'telemetries.telemetry.istio.io',
    ],
  );
  for (const crd of all) {
    for (const version of crd.spec.versions) {
      t.same(nonStructural(version.schema.openAPIV3Schema, crd.metadata.name), []);
    }
    t.same(JSON.parse(JSON.stringify(crd)), crd, `${crd.metadata.name} survives JSON`);
  }
});

t.test('a VirtualService CRD serves every version, stores v1, and bounds ports', async (t) => {
  const vs = definitions.find((d) => d.type === 'VirtualService');
  if (vs === undefined) throw new Error('VirtualService definition missing');
  const crd = crdFor(vs);
  t.equal(crd.spec.scope, 'Namespaced');
  t.same(crd.spec.names, {
    kind: 'VirtualService',
    listKind: 'VirtualServiceList',
    plural: 'virtualservices',
    singular: 'virtualservice',
    shortNames: ['vs'],
    categories: ['istio-io', 'networking-istio-io'],
  });
  t.same(
    crd.spec.versions.map((v) => [v.name, v.served, v.storage]),
    [
      ['v1', true, true],
      ['v1beta1', true, false],
      ['v1alpha3', true, false],
    ],
  );
  const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
  const port =
    schema?.properties?.spec?.properties?.http?.items?.properties?.route?.items?.properties
      ?.destination?.properties?.port?.properties?.number;
  t.same(port, { type: 'integer', minimum: 1, maximum: 65535 });
  t.same(schema?.properties?.status, {
    type: 'object',
    'x-kubernetes-preserve-unknown-fields': true,
  });
  const timeout = schema?.properties?.spec?.properties?.http?.items?.properties?.timeout;
  t.equal(timeout?.type, 'string');
  t.same(timeout?.['x-kubernetes-validations']?.[0]?.rule, "duration(self) >= duration('1ms')");
  const route = schema?.properties?.spec?.properties?.http?.items;
  t.match(route?.description, /Needs route, redirect, directResponse or delegate/);
});

t.test('core Kubernetes kinds have no CRD', async (t) => {
  const pod = registry.byType('Pod');
  if (pod === undefined) throw new Error('Pod definition missing');
  t.throws(() => crdFor(pod), RangeError);
});
