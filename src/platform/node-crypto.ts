/**
 * Node's native cryptography for the core (DESIGN.md §3: the Node side injects `node:crypto`):
 * SHA-256 for `c2sp` logs and SM3 for `gm` logs (SPEC.md#crypto-suites), and Ed25519, all from
 * OpenSSL 3. `crypto.hash` is the one-shot API (Node ≥ 20.12 / 21.7); it avoids the Hash object
 * per call and is several times faster than pure JS for the small inputs a Merkle log hashes.
 * OpenSSL's Ed25519 is some 20 times faster than pure JS: a service signs a checkpoint and checks
 * every witness's cosignature of it many times a second, and the pure one took a tenth of its CPU.
 */
import { Buffer } from 'node:buffer';
import { createPrivateKey, createPublicKey, getHashes, hash, sign, verify, type KeyObject } from 'node:crypto';
import { useEd25519, useSha256, type Ed25519Functions, type Sha256Function } from '../core/crypto.js';
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

// RFC 8410 §7 and §4: the DER prefixes of an Ed25519 PKCS #8 private key and SubjectPublicKeyInfo,
// each followed by the 32 raw bytes.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

/** Most key objects kept (a service uses its own key and a few witnesses'; a verifier a few more). */
const KEY_CACHE = 64;

/** cached returns a bounded map's value for `bytes`, making it with `make` when absent. */
function cached(cache: Map<string, KeyObject>, bytes: Uint8Array, make: (der: Buffer) => KeyObject, prefix: Buffer): KeyObject {
  const id = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  let key = cache.get(id);
  if (key === undefined) {
    key = make(Buffer.concat([prefix, bytes]));
    if (cache.size >= KEY_CACHE) cache.delete(cache.keys().next().value as string);
    cache.set(id, key);
  }
  return key;
}

const privateKeys = new Map<string, KeyObject>();
const publicKeys = new Map<string, KeyObject>();

/**
 * nodeEd25519 is OpenSSL's Ed25519 through node:crypto. The core wraps it (src/core/crypto.ts
 * ed25519Verify): the strict encoding checks run first, and a signature OpenSSL refuses is asked
 * of the pure verifier again, so answers are the pure verifier's exactly.
 */
export const nodeEd25519: Ed25519Functions = {
  sign: (seed, message) => {
    const key = cached(privateKeys, seed, (der) => createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }), PKCS8_PREFIX);
    const out = sign(null, message, key);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  },
  verify: (publicKey, message, signature) => {
    try {
      const key = cached(publicKeys, publicKey, (der) => createPublicKey({ key: der, format: 'der', type: 'spki' }), SPKI_PREFIX);
      return verify(null, message, key, signature);
    } catch {
      return false;
    }
  },
};

/**
 * installNodeCrypto makes the core use node:crypto for SHA-256, Ed25519 and, when this OpenSSL has
 * it, SM3 in this process. Each is checked against a known answer before it is taken; an OpenSSL
 * built without SM3 (`no-sm3`) leaves the pure-JS one in place, which gives the same bytes.
 */
export function installNodeCrypto(): void {
  useSha256(nodeSha256);
  useEd25519(nodeEd25519);
  if (getHashes().includes('sm3')) useSm3(nodeSm3);
}
