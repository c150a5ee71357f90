import t from 'tap';
import { trafficDistribution } from './traffic-distribution.js';

const ANNOTATION = 'networking.istio.io/traffic-distribution';
const annotated = (value: string) => ({ [ANNOTATION]: value });

t.test('the Service’s trafficDistribution field comes first', async (t) => {
  t.equal(trafficDistribution('PreferClose', annotated('PreferSameNode'), {}), 'PreferSameZone');
  t.equal(trafficDistribution('PreferSameZone', {}, undefined), 'PreferSameZone');
  t.equal(trafficDistribution('PreferSameNode', annotated('PreferClose'), {}), 'PreferSameNode');
});

t.test('a field value Istio does not know falls through to the annotations', async (t) => {
  t.equal(trafficDistribution('preferclose', {}, annotated('PreferSameNode')), 'PreferSameNode');
  t.equal(trafficDistribution('Nearest', {}, undefined), 'Any');
});

t.test('the service’s annotation comes before its namespace’s, in any case', async (t) => {
  t.equal(
    trafficDistribution(undefined, annotated('prefersamenode'), annotated('PreferClose')),
    'PreferSameNode',
  );
  t.equal(trafficDistribution(undefined, {}, annotated('PREFERCLOSE')), 'PreferSameZone');
  t.equal(
    trafficDistribution(undefined, annotated(''), annotated('PreferSameZone')),
    'PreferSameZone',
  );
});

t.test('an annotation Istio does not know means any endpoint', async (t) => {
  t.equal(trafficDistribution(undefined, annotated('Nearest'), annotated('PreferClose')), 'Any');
  t.equal(trafficDistribution(undefined, {}, annotated('Nearest')), 'Any');
  t.equal(trafficDistribution(undefined, {}, undefined), 'Any');
});
