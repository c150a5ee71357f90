/**
 * The metadata every resource carries. Objects read back from a cluster carry more
 * (managedFields, finalizers, …); fields the mesh does not read are accepted unchecked.
 */
import { dns1123Label, labels, s } from '../schema/index.js';

/**
 * An owner, with the API server's rules (ValidateOwnerReferences): every identifying field
 * is set, and at most one owner is the controller.
 */
const ownerReference = s.object(
  {
    apiVersion: s.string({ minLength: 1 }),
    kind: s.string({ minLength: 1 }),
    name: s.string({ minLength: 1 }),
    uid: s.string({ minLength: 1 }),
    controller: s.boolean().optional(),
    blockOwnerDeletion: s.boolean().optional(),
  },
  { unknownFields: 'ignore' },
);

const ownerReferences = s.array(ownerReference).check((owners, ctx) => {
  let controller: (typeof owners)[number] | undefined;
  for (const [i, owner] of owners.entries()) {
    if (owner.controller !== true) continue;
    if (controller === undefined) controller = owner;
    else {
      ctx.issue(
        `[${i}].controller`,
        `only one owner may be the controller; ${controller.kind} ${controller.name} already is`,
      );
    }
  }
}, 'At most one owner is the controller.');

export const objectMeta = s.object(
  {
    name: s.string(),
    generateName: s.string().optional(),
    namespace: s.string().check(dns1123Label, 'A namespace name.').optional(),
    labels: s.map(s.string()).check(labels, 'Keys and values follow label syntax.').optional(),
    annotations: s.map(s.string()).optional(),
    uid: s.string().optional(),
    generation: s.integer().optional(),
    resourceVersion: s.string().optional(),
    creationTimestamp: s.string().optional(),
    deletionTimestamp: s.string().optional(),
    ownerReferences: ownerReferences.optional(),
  },
  { unknownFields: 'ignore' },
);
