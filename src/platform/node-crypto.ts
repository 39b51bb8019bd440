/**
 * Node's native SHA-256 for the core (DESIGN.md §3: the Node side injects `node:crypto`).
 * `crypto.hash` is the one-shot API (Node ≥ 20.12 / 21.7); it avoids the Hash object per call
 * and is several times faster than pure JS for the small inputs a Merkle log hashes.
 */
import { hash } from 'node:crypto';
import { useSha256, type Sha256Function } from '../core/crypto.js';

/** nodeSha256 computes SHA-256 with OpenSSL through node:crypto's one-shot `hash`. */
export const nodeSha256: Sha256Function = (data) => {
  const out = hash('sha256', data, 'buffer');
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};

/** installNodeCrypto makes the core use node:crypto for SHA-256 in this process. */
export function installNodeCrypto(): void {
  useSha256(nodeSha256);
}
