import { create } from '@bufbuild/protobuf';
import { AddressSchema } from '../../api/gen/istio/workload/workload_pb.js';
import type { Address, Workload } from '../../api/gen/istio/workload/workload_pb.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { AddressOptions } from './address-options.js';
import { policiesForWorkload } from './authorization-binding.js';
import { serviceResourceName } from './names.js';
import { serviceMessage } from './service-address.js';
import {
  podWorkloadMessage,
  serviceEntryEndpointMessage,
  workloadEntryMessage,
} from './workload-address.js';
import type { PolicyNamer } from './workload-address.js';

/**
 * Every `istio.workload.Address` the mesh model implies, keyed by resource name as Istio
 * names them: a workload by its uid, a service by `namespace/hostname`. Pure: the same
 * model and options always give the same messages.
 */
export function computeAddresses(model: MeshModel, options: AddressOptions): Map<string, Address> {
  const out = new Map<string, Address>();
  const policies: PolicyNamer = (namespace, labels) =>
    policiesForWorkload(
      { namespace, labels },
      model.authorizationPolicies,
      model.peerAuthentications,
      options,
    );
  const addWorkload = (workload: Workload | undefined) => {
    if (workload === undefined) return;
    out.set(workload.uid, create(AddressSchema, { type: { case: 'workload', value: workload } }));
  };

  for (const service of model.services) {
    const message = serviceMessage(service, model.namespaces.get(service.namespace), options);
    out.set(
      serviceResourceName(service.namespace, service.hostname),
      create(AddressSchema, { type: { case: 'service', value: message } }),
    );
  }
  for (const pod of model.pods) addWorkload(podWorkloadMessage(pod, options, policies));
  for (const entry of model.workloadEntries) {
    addWorkload(workloadEntryMessage(entry, options, policies));
  }
  for (const endpoint of model.serviceEntryEndpoints) {
    addWorkload(serviceEntryEndpointMessage(endpoint, options, policies));
  }
  return out;
}
