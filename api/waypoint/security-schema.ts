/**
 * The runtime check of security.ts's types, used by schema.ts for `WaypointService.policies`
 * and `WaypointService.jwtRules`.
 */
import { isCIDR, isIPAddress, s } from '../schema/index.js';

const name = s.string({ minLength: 1 });
const values = s.array(name);
const port = s.integer({ minimum: 1, maximum: 65535 });

const ipBlock = s.string().check((value, ctx) => {
  if (!(value.includes('/') ? isCIDR(value) : isIPAddress(value)))
    ctx.issue('', 'must be an IP address or a CIDR block');
}, 'An IP address or CIDR block.');
const ipBlocks = s.array(ipBlock);

const policySource = s.object({
  principals: values.optional(),
  notPrincipals: values.optional(),
  requestPrincipals: values.optional(),
  notRequestPrincipals: values.optional(),
  namespaces: values.optional(),
  notNamespaces: values.optional(),
  ipBlocks: ipBlocks.optional(),
  notIpBlocks: ipBlocks.optional(),
  remoteIpBlocks: ipBlocks.optional(),
  notRemoteIpBlocks: ipBlocks.optional(),
});

const policyOperation = s.object({
  hosts: values.optional(),
  notHosts: values.optional(),
  ports: s.array(port).optional(),
  notPorts: s.array(port).optional(),
  methods: values.optional(),
  notMethods: values.optional(),
  paths: values.optional(),
  notPaths: values.optional(),
});

const policyCondition = s.object({
  key: name,
  values: s.array(s.string()).optional(),
  notValues: s.array(s.string()).optional(),
});

export const waypointPolicy = s.object({
  name,
  action: s.enumOf('CUSTOM', 'DENY', 'ALLOW', 'AUDIT'),
  rules: s.array(
    s.object({
      from: s.array(policySource).optional(),
      to: s.array(policyOperation).optional(),
      when: s.array(policyCondition).optional(),
    }),
  ),
});

export const jwtRule = s.object({
  policy: name,
  issuer: name,
  audiences: values.optional(),
  jwks: s.string().optional(),
  jwksUri: s
    .string()
    .check((value, ctx) => {
      if (!/^https?:\/\//.test(value)) ctx.issue('', 'must be an http or https URI');
    }, 'An http or https URI.')
    .optional(),
  fromHeaders: s.array(s.object({ name, prefix: s.string().optional() })).optional(),
  fromParams: values.optional(),
  outputPayloadToHeader: s.string().optional(),
  forwardOriginalToken: s.boolean(),
  outputClaimToHeaders: s.array(s.object({ header: name, claim: name })).optional(),
});
