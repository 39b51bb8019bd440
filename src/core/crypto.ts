/**
 * All platform cryptography in one small module (sigstore-js `core/src/crypto.ts`): SHA-256,
 * Ed25519 and ML-DSA-44 (FIPS 204, for post-quantum witness cosignatures). Pure JavaScript by
 * default (@noble/hashes, @noble/curves, @noble/post-quantum: Uint8Array in and out), so the same
 * bytes verify in Node and in a browser. No function here draws randomness or reads a clock.
 *
 * A host may install a faster SHA-256 (the Node side injects `node:crypto`'s one-shot `hash`,
 * see src/platform/node-crypto.ts) with {@link useSha256}, and a faster Ed25519 with
 * {@link useEd25519}; each replacement is checked against a known answer before it is accepted,
 * and differential tests prove both agree with the pure ones.
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

/**
 * A host's Ed25519 (RFC 8032 pure Ed25519, no context): `sign` from a 32-byte seed, `verify` with a
 * 32-byte public key, true only for a valid signature, never throwing.
 */
export interface Ed25519Functions {
  readonly sign: (seed: Uint8Array, message: Uint8Array) => Uint8Array;
  readonly verify: (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean;
}

const pureEd25519: Ed25519Functions = {
  sign: (seed, message) => ed25519.sign(message, seed),
  verify: (publicKey, message, signature) => {
    try {
      return ed25519.verify(signature, message, publicKey, { zip215: false });
    } catch {
      return false;
    }
  },
};
let host: Ed25519Functions | undefined;

/** The pure-JS Ed25519 (@noble/curves, strict), always available: the browser's, and the oracle. */
export const ed25519Pure: Ed25519Functions = pureEd25519;

/** ed25519Sign signs `message` with a 32-byte seed (RFC 8032 §5.1.6; deterministic). */
export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_SIZE) badInput('ed25519: seed must be 32 bytes');
  // RFC 8032 signing is deterministic: a host's signature is byte for byte the pure one.
  return (host ?? pureEd25519).sign(seed, message);
}

/**
 * ed25519Verify checks an RFC 8032 signature strictly (zip215 off: canonical encodings of R, A and
 * S only, small-order keys rejected; the cofactored equation). Honest signatures verify exactly as
 * with Go's crypto/ed25519; only crafted edge cases can differ. Returns false, never throws, for
 * any malformed key or signature.
 *
 * With a host Ed25519 installed the answer is the same, faster: a host (OpenSSL) checks the
 * cofactorless equation, which implies the cofactored one, so after the strict encoding checks
 * below its "valid" is the pure one's; its "invalid" is asked of the pure verifier again, which
 * alone decides the crafted cases where the two equations part (RFC 8032 §5.1.7 allows either).
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_SIZE || signature.length !== ED25519_SIGNATURE_SIZE) return false;
  if (host === undefined) return pureEd25519.verify(publicKey, message, signature);
  if (!strictEncodings(publicKey, signature)) return false;
  return host.verify(publicKey, message, signature) || pureEd25519.verify(publicKey, message, signature);
}

// RFC 8032 §5.1: p = 2^255 - 19 and the group order L = 2^252 + 27742317777372353535851937790883648493.
const P = (1n << 255n) - 19n;
const L = (1n << 252n) + 27742317777372353535851937790883648493n;

/** littleEndian reads `bytes` as an unsigned little-endian integer. */
function littleEndian(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i] as number);
  return n;
}

/**
 * The encodings of the 8 points of small order (the torsion subgroup), canonical ones only (the
 * others fail the y < p check first). A key among them verifies signatures of anyone's messages;
 * the strict pure verifier refuses them, so the host path must too.
 * test/platform/node-crypto.test.ts derives them from the curve.
 */
export const SMALL_ORDER_ENCODINGS: readonly string[] = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
];
const smallOrder = new Set(SMALL_ORDER_ENCODINGS);

/**
 * strictEncodings applies the checks the strict pure verifier makes before its equation
 * (RFC 8032 §5.1.3 decoding, §5.1.7 step 1): A and R canonical (y < p; x = 0 only with sign
 * bit 0), S < L, A not of small order.
 */
function strictEncodings(publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (!canonicalPoint(publicKey) || !canonicalPoint(signature.subarray(0, 32))) return false;
  if (littleEndian(signature.subarray(32)) >= L) return false;
  let hex = '';
  for (const b of publicKey) hex += b.toString(16).padStart(2, '0');
  return !smallOrder.has(hex);
}

/** canonicalPoint: y < p, and not one of the two x = 0 points (y = ±1) with its sign bit set. */
function canonicalPoint(encoded: Uint8Array): boolean {
  const sign = ((encoded[31] as number) & 0x80) !== 0;
  const y = littleEndian(encoded) & ((1n << 255n) - 1n);
  if (y >= P) return false;
  return !(sign && (y === 1n || y === P - 1n));
}

// RFC 8032 §7.1, TEST 2 (one-byte message 0x72).
const KAT_SEED = '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb';
const KAT_PUBLIC = '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c';
const KAT_SIGNATURE = '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00';

function fromHexKat(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * useEd25519 installs a host Ed25519 for this process (or restores the pure one when called with
 * no argument). Requires: `fns` implements RFC 8032 Ed25519; checked on RFC 8032 §7.1 TEST 2
 * (the exact signature, which verifies, and refuses with one bit changed) before it is taken.
 */
export function useEd25519(fns?: Ed25519Functions): void {
  if (fns === undefined) {
    host = undefined;
    return;
  }
  const seed = fromHexKat(KAT_SEED);
  const message = new Uint8Array([0x72]);
  const want = fromHexKat(KAT_SIGNATURE);
  const got = fns.sign(seed, message);
  let hex = '';
  for (const b of got) hex += b.toString(16).padStart(2, '0');
  if (hex !== KAT_SIGNATURE) badInput(`useEd25519: implementation signs RFC 8032 TEST 2 as ${hex.slice(0, 16)}…, want ${KAT_SIGNATURE.slice(0, 16)}…`);
  const forged = want.slice();
  forged[0] = (forged[0] as number) ^ 1;
  if (!fns.verify(fromHexKat(KAT_PUBLIC), message, want) || fns.verify(fromHexKat(KAT_PUBLIC), message, forged)) {
    badInput('useEd25519: implementation does not verify RFC 8032 TEST 2 correctly');
  }
  host = fns;
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
