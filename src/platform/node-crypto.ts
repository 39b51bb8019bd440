/**
 * Node's native hashes for the core (DESIGN.md §3: the Node side injects `node:crypto`): SHA-256
 * for `c2sp` logs and SM3 for `gm` logs (SPEC.md#crypto-suites), both from OpenSSL 3.
 * `crypto.hash` is the one-shot API (Node ≥ 20.12 / 21.7); it avoids the Hash object per call
 * and is several times faster than pure JS for the small inputs a Merkle log hashes.
 */
import { getHashes, hash } from 'node:crypto';
import { useSha256, type Sha256Function } from '../core/crypto.js';
import { useSm3, type Sm3Function } from '../core/crypto-gm.js';

/** nodeSha256 computes SHA-256 with OpenSSL through node:crypto's one-shot `hash`. */
export const nodeSha256: Sha256Function = (data) => {
  const out = hash('sha256', data, 'buffer');
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};

/** nodeSm3 computes SM3 (GB/T 32905-2016) with OpenSSL through node:crypto's one-shot `hash`. */
export const nodeSm3: Sm3Function = (data) => {
  const out = hash('sm3', data, 'buffer');
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
};

/**
 * installNodeCrypto makes the core use node:crypto for SHA-256 and, when this OpenSSL has it, SM3
 * in this process. useSm3 checks the native SM3 against GB/T 32905 example 1 before taking it; an
 * OpenSSL built without SM3 (`no-sm3`) leaves the pure-JS one in place, which gives the same bytes.
 */
export function installNodeCrypto(): void {
  useSha256(nodeSha256);
  if (getHashes().includes('sm3')) useSm3(nodeSm3);
}
