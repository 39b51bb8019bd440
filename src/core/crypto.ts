/**
 * All platform cryptography in one small module (sigstore-js `core/src/crypto.ts`): SHA-256,
 * Ed25519 and ML-DSA-44 (FIPS 204, for post-quantum witness cosignatures). Pure JavaScript by
 * default (@noble/hashes, @noble/curves, @noble/post-quantum: Uint8Array in and out), so the same
 * bytes verify in Node and in a browser. No function here draws randomness or reads a clock.
 *
 * A host may install a faster SHA-256 (the Node side injects `node:crypto`'s one-shot `hash`,
 * see src/platform/node-crypto.ts) with {@link useSha256}; the replacement is checked against a
 * known answer before it is accepted, and a differential test proves both agree.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import { ml_dsa44 } from '@noble/post-quantum/ml-dsa.js';
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

/** ML-DSA-44 public key length in bytes (FIPS 204 Table 2). */
export const ML_DSA_44_PUBLIC_KEY_SIZE = 1312;
/** ML-DSA-44 key generation seed length in bytes (FIPS 204 Algorithm 1, ξ). */
export const ML_DSA_44_SEED_SIZE = 32;
/** ML-DSA-44 signature length in bytes (FIPS 204 Table 2). */
export const ML_DSA_44_SIGNATURE_SIZE = 2420;
/** Length of the per-signature randomness of hedged ML-DSA signing (FIPS 204 Algorithm 2, rnd). */
export const ML_DSA_44_RANDOMNESS_SIZE = 32;

/** An ML-DSA-44 key pair: the 1312-byte public key and the expanded 2560-byte secret key. */
export interface MlDsa44KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/**
 * mlDsa44KeyPair derives the ML-DSA-44 key pair from a 32-byte seed ξ (FIPS 204 Algorithm 6,
 * ML-DSA.KeyGen_internal; deterministic).
 */
export function mlDsa44KeyPair(seed: Uint8Array): MlDsa44KeyPair {
  if (!(seed instanceof Uint8Array) || seed.length !== ML_DSA_44_SEED_SIZE) badInput('ml-dsa-44: seed must be 32 bytes');
  const { publicKey, secretKey } = ml_dsa44.keygen(seed);
  return { publicKey, secretKey };
}

/**
 * mlDsa44Sign signs `message` with pure ML-DSA-44 and the EMPTY context string (FIPS 204
 * Algorithm 2, ML-DSA.Sign(sk, M, ctx = "")). With `randomness` (32 bytes, from the caller: core
 * draws none) the signature is hedged as FIPS 204 recommends; without it, it is the deterministic
 * variant (rnd = 0^32, FIPS 204 §3.4), which gives reproducible test vectors.
 */
export function mlDsa44Sign(secretKey: Uint8Array, message: Uint8Array, randomness?: Uint8Array): Uint8Array {
  if (randomness !== undefined && (!(randomness instanceof Uint8Array) || randomness.length !== ML_DSA_44_RANDOMNESS_SIZE)) {
    badInput('ml-dsa-44: randomness must be 32 bytes');
  }
  return ml_dsa44.sign(message, secretKey, { extraEntropy: randomness ?? false });
}

/**
 * mlDsa44Verify checks a pure ML-DSA-44 signature with the empty context string (FIPS 204
 * Algorithm 3). Returns false, never throws, for any malformed key or signature.
 */
export function mlDsa44Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ML_DSA_44_PUBLIC_KEY_SIZE || signature.length !== ML_DSA_44_SIGNATURE_SIZE) return false;
  try {
    return ml_dsa44.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
