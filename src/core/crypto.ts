/**
 * All platform cryptography in one small module (sigstore-js `core/src/crypto.ts`): SHA-256 and
 * Ed25519. Pure JavaScript by default (@noble/hashes, @noble/curves: Uint8Array in and out, no
 * dependencies), so the same bytes verify in Node and in a browser.
 *
 * A host may install a faster SHA-256 (the Node side injects `node:crypto`'s one-shot `hash`,
 * see src/platform/node-crypto.ts) with {@link useSha256}; the replacement is checked against a
 * known answer before it is accepted, and a differential test proves both agree.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { badInput } from './errors.js';

/** A one-shot SHA-256 function: 32 bytes out for any input. */
export type Sha256Function = (data: Uint8Array) => Uint8Array;

const pureSha256: Sha256Function = (data) => nobleSha256(data);
let active: Sha256Function = pureSha256;

/** sha256 returns SHA-256(data) (FIPS 180-4) using the installed implementation. */
export function sha256(data: Uint8Array): Uint8Array {
  return active(data);
}

/** The pure-JS SHA-256, always available (the browser default and the differential oracle). */
export const sha256Pure: Sha256Function = pureSha256;

// SHA-256("abc"), FIPS 180-4 example B.1.
const ABC = new Uint8Array([0x61, 0x62, 0x63]);
const ABC_DIGEST = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad';

/**
 * useSha256 installs a SHA-256 implementation for this process (or restores the pure one when
 * called with no argument). Requires: `fn` returns the FIPS 180-4 digest; checked on "abc".
 */
export function useSha256(fn: Sha256Function = pureSha256): void {
  const got = fn(ABC);
  let hex = '';
  for (const b of got) hex += b.toString(16).padStart(2, '0');
  if (hex !== ABC_DIGEST) badInput(`useSha256: implementation gives ${hex} for "abc", want ${ABC_DIGEST}`);
  active = fn;
}

/** Ed25519 public key length in bytes (RFC 8032). */
export const ED25519_PUBLIC_KEY_SIZE = 32;
/** Ed25519 seed (private key) length in bytes (RFC 8032). */
export const ED25519_SEED_SIZE = 32;
/** Ed25519 signature length in bytes (RFC 8032). */
export const ED25519_SIGNATURE_SIZE = 64;

/** ed25519PublicKey derives the 32-byte public key from a 32-byte seed (RFC 8032 §5.1.5). */
export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_SIZE) badInput('ed25519: seed must be 32 bytes');
  return ed25519.getPublicKey(seed);
}

/** ed25519Sign signs `message` with a 32-byte seed (RFC 8032 §5.1.6; deterministic). */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_SIZE) badInput('ed25519: seed must be 32 bytes');
  return ed25519.sign(message, seed);
}

/**
 * ed25519Verify checks an RFC 8032 signature strictly (zip215 off: canonical encodings of R, A and
 * S only, small-order keys rejected; the cofactored equation). Honest signatures verify exactly as
 * with Go's crypto/ed25519; only crafted edge cases can differ. Returns false, never throws, for
 * any malformed key or signature.
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_SIZE || signature.length !== ED25519_SIGNATURE_SIZE) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}
