// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata
// polyfill loaded first; and it signs with whatever WebCrypto it is given, which here is
// Node's own (OpenSSL underneath). Every module that touches certificates imports the
// library through this file so both happen exactly once, before first use.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto);

export { x509 };

export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;

/** ECDSA over P-256 with SHA-256: the one key and signature type of the mesh (DESIGN.md §1). */
export const ECDSA_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const ECDSA_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** Node's WebCrypto, typed as Node types it, for the few direct subtle calls. */
export const subtle = webcrypto.subtle;
