import type { Identity } from '../../core/identity/spiffe.js';

/** Who is calling the control plane, as its credentials prove. */
export interface Caller {
  identity: Identity;
  /**
   * The node the caller runs on, when its credentials are bound to one (a node tunnel's
   * are); the CA lets a node tunnel ask for the identities of pods on this node only.
   */
  node?: string;
}

/**
 * Turns a bearer token into a caller. Returns undefined for a token it does not know; it never
 * throws for a bad token, so one caller's garbage cannot fail another's request.
 */
export interface Authenticator {
  authenticate(token: string): Caller | undefined;
}
