import { MeshError } from '../../core/errors.js';

export interface ResourceErrorDetails {
  file?: string;
  /** The line of the offending field when known, else of the document. */
  line?: number;
  kind?: string;
  /** Only for namespaced kinds. */
  namespace?: string;
  name?: string;
  /** Field path such as `spec.http[0].timeout`; '' when the problem is the whole document. */
  path: string;
  reason: string;
}

function formatResourceError(d: ResourceErrorDetails): string {
  let out = '';
  if (d.file !== undefined) out += d.line !== undefined ? `${d.file}:${d.line}: ` : `${d.file}: `;
  if (d.kind !== undefined) {
    out += d.kind;
    if (d.name !== undefined && d.name !== '') {
      out += d.namespace !== undefined ? ` ${d.namespace}/${d.name}` : ` ${d.name}`;
    }
    out += ': ';
  }
  if (d.path !== '') out += `${d.path}: `;
  return out + d.reason;
}

/**
 * A resource (or a document that should have been one) that cannot be used. The message is
 * the one line users see: `<file>:<line>: <Kind> <namespace>/<name>: <path>: <reason>`.
 */
export class ResourceError extends MeshError {
  readonly code = 'AMBIT_INVALID_RESOURCE';
  /** Everything the message was made from; `details.name` is the resource's name. */
  readonly details: Readonly<ResourceErrorDetails>;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly kind: string | undefined;
  readonly namespace: string | undefined;
  /** The resource's name (`name` itself is the error class name, as for every Error). */
  readonly resourceName: string | undefined;
  readonly path: string;
  readonly reason: string;

  constructor(details: ResourceErrorDetails, options?: { cause?: unknown }) {
    super(formatResourceError(details), options);
    this.details = { ...details };
    this.file = details.file;
    this.line = details.line;
    this.kind = details.kind;
    this.namespace = details.namespace;
    this.resourceName = details.name;
    this.path = details.path;
    this.reason = details.reason;
  }

  override toString(): string {
    return this.message;
  }
}
