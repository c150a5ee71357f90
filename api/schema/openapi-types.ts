/**
 * The subset of OpenAPI v3 that Kubernetes accepts as a structural CRD schema
 * (apiextensions.k8s.io/v1 JSONSchemaProps), as plain JSON.
 */
export interface OpenAPISchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  format?: string;
  description?: string;
  properties?: Record<string, OpenAPISchema>;
  required?: string[];
  additionalProperties?: OpenAPISchema;
  items?: OpenAPISchema;
  enum?: Array<string | number>;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  default?: unknown;
  'x-kubernetes-preserve-unknown-fields'?: true;
  'x-kubernetes-int-or-string'?: true;
  'x-kubernetes-validations'?: Array<{ rule: string; message: string }>;
}
