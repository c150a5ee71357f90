import { x509 } from './x509.js';

export interface PemBlock {
  /** The label between `-----BEGIN ` and `-----`, e.g. `CERTIFICATE`. */
  type: string;
  der: Uint8Array;
}

/** Every PEM block in `text`, in order; text outside the blocks is ignored, as openssl does. */
export function pemBlocks(text: string): PemBlock[] {
  return x509.PemConverter.decodeWithHeaders(text).map((block) => ({
    type: block.type,
    der: new Uint8Array(block.rawData),
  }));
}

/** One PEM block with a trailing newline, in the 64-column layout every tool expects. */
export function encodePem(der: ArrayBuffer | Uint8Array, type: string): string {
  return `${x509.PemConverter.encode(der, type)}\n`;
}
