import { getSystemErrorMap } from 'node:util';
import { MeshError } from '../errors.js';

/**
 * A Linux call made by the core/net addon failed. `errno` is the positive Linux value (as in
 * C), `errnoName` its symbolic name; `subject` says what the call acted on.
 */
export class NativeCallError extends MeshError {
  readonly code = 'AMBIT_NET_CALL';
  readonly errnoName: string;

  constructor(
    readonly syscall: string,
    readonly errno: number,
    subject: string,
    options?: { cause?: unknown },
  ) {
    // Node's map is keyed by the negated value libuv uses.
    const [name, description] = getSystemErrorMap().get(-errno) ?? [
      `errno ${errno}`,
      'unknown error',
    ];
    super(`${syscall} on ${subject} failed: ${name} (${description})`, options);
    this.errnoName = name;
  }
}

/** The compiled addon was not found, or would not load. */
export class NativeAddonMissingError extends MeshError {
  readonly code = 'AMBIT_NET_ADDON_MISSING';

  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the core/net native addon (${path}) is missing or does not load; build it with \`make native\``,
      options,
    );
  }
}
