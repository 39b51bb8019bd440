/**
 * The 国密 primitives of the `gm` crypto suite (SPEC.md#crypto-suites), beside crypto.ts and as
 * small: SM3 (GB/T 32905-2016) and SM2 signatures (GB/T 32918.2-2016) with SM3 and the default
 * user ID `1234567812345678` (GB/T 35276-2017 §10). Pure JavaScript by default (sm-crypto-v2,
 * built on @noble/curves and @noble/hashes: the same bytes verify in Node and in a browser).
 *
 * No function here draws randomness or reads a clock. SM2 signing needs a fresh secret k per
 * signature; here k is derived deterministically from the key and the message digest as RFC 6979
 * §3.2 derives ECDSA's, with HMAC-SM3, so a log's signatures are reproducible and never reuse k
 * for two messages (a verifier cannot tell: any valid k gives a valid SM2 signature). Extra
 * randomness, when a caller has some, is mixed in as RFC 6979 §3.6 additional data.
 *
 * A host may install a native SM3 (the Node side uses `node:crypto`'s, which OpenSSL 3 provides:
 * src/platform/node-crypto.ts) with {@link useSm3}; it is checked against GB/T 32905 example 1
 * before it is accepted.
 */
import { sm2, sm3 as sm3Hex } from 'sm-crypto-v2';
import { badInput } from './errors.js';

/** SM2 public key length in bytes: the uncompressed point 0x04 ‖ X ‖ Y (GB/T 32918.1 §4.2.9). */
export const SM2_PUBLIC_KEY_SIZE = 65;
/** SM2 private key length in bytes: the scalar d, big-endian. */
export const SM2_PRIVATE_KEY_SIZE = 32;
/** SM2 signature length in bytes as a signed note carries it: r ‖ s, 32 bytes each, big-endian. */
export const SM2_SIGNATURE_SIZE = 64;
/** The default signer ID of GB/T 35276-2017 §10, which OpenSSL calls `distid`. */
export const SM2_DEFAULT_ID = '1234567812345678';

/** The order n of the SM2 recommended curve's base point (GB/T 32918.5-2017 §3). */
const N = 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n;

/** A one-shot SM3 function: 32 bytes out for any input. */
export type Sm3Function = (data: Uint8Array) => Uint8Array;

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

const pureSm3: Sm3Function = (data) => hexToBytes(sm3Hex(data));
let active: Sm3Function = pureSm3;

/** sm3 returns SM3(data) (GB/T 32905-2016) using the installed implementation. */
export function sm3(data: Uint8Array): Uint8Array {
  return active(data);
}

/** The pure-JS SM3, always available (the browser default and the differential oracle). */
export const sm3Pure: Sm3Function = pureSm3;

// GB/T 32905-2016 Appendix A, example 1: SM3("abc").
const ABC = new Uint8Array([0x61, 0x62, 0x63]);
const ABC_DIGEST = '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0';

/**
 * useSm3 installs an SM3 implementation for this process (or restores the pure one when called
 * with no argument). Requires: `fn` returns the GB/T 32905 digest; checked on "abc".
 */
export function useSm3(fn: Sm3Function = pureSm3): void {
  const got = bytesToHex(fn(ABC));
  if (got !== ABC_DIGEST) badInput(`useSm3: implementation gives ${got} for "abc", want ${ABC_DIGEST}`);
  active = fn;
}

/** hmacSm3 returns HMAC-SM3(key, data) (RFC 2104 with SM3, block 64 bytes). */
function hmacSm3(key: Uint8Array, data: Uint8Array): Uint8Array {
  return hexToBytes(sm3Hex(data, { key, mode: 'hmac' }));
}

function checkPrivate(d: unknown): asserts d is Uint8Array {
  if (!(d instanceof Uint8Array) || d.length !== SM2_PRIVATE_KEY_SIZE) badInput('sm2: private key must be 32 bytes');
  const x = BigInt(`0x${bytesToHex(d)}`);
  // GB/T 32918.1 §6.1: d ∈ [1, n−2].
  if (x < 1n || x > N - 2n) badInput('sm2: private key out of range [1, n-2]');
}

/** sm2PublicKey derives the 65-byte public key 0x04 ‖ X ‖ Y from the 32-byte private key d. */
export function sm2PublicKey(d: Uint8Array): Uint8Array {
  checkPrivate(d);
  return hexToBytes(sm2.getPublicKeyFromPrivateKey(bytesToHex(d)));
}

/** isSm2PublicKey tells whether `pub` is an uncompressed point on the SM2 curve (not the identity). */
export function isSm2PublicKey(pub: Uint8Array): boolean {
  if (!(pub instanceof Uint8Array) || pub.length !== SM2_PUBLIC_KEY_SIZE || pub[0] !== 0x04) return false;
  try {
    return sm2.verifyPublicKey(bytesToHex(pub));
  } catch {
    return false;
  }
}

/**
 * sm2Digest returns e = SM3(Z_A ‖ M) (GB/T 32918.2 §6.1 A1–A2), Z_A over the default ID and the
 * signer's public key: what an SM2 signature signs.
 */
export function sm2Digest(publicKey: Uint8Array, message: Uint8Array): Uint8Array {
  return hexToBytes(sm2.getHash(message, bytesToHex(publicKey), SM2_DEFAULT_ID));
}

const int32 = (x: bigint) => hexToBytes(x.toString(16).padStart(64, '0'));

/**
 * nonceFor derives k ∈ [1, n−1] as RFC 6979 §3.2 does (HMAC_DRBG with HMAC-SM3, qlen = hlen =
 * 256), from the private key and e, with optional additional data (§3.6).
 */
function nonceFor(d: Uint8Array, e: Uint8Array, extra: Uint8Array): bigint {
  const h1 = int32(BigInt(`0x${bytesToHex(e)}`) % N); // bits2octets
  const cat = (...parts: Uint8Array[]): Uint8Array => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  let v: Uint8Array = new Uint8Array(32).fill(0x01);
  let k: Uint8Array = new Uint8Array(32);
  k = hmacSm3(k, cat(v, Uint8Array.of(0x00), d, h1, extra));
  v = hmacSm3(k, v);
  k = hmacSm3(k, cat(v, Uint8Array.of(0x01), d, h1, extra));
  v = hmacSm3(k, v);
  for (;;) {
    v = hmacSm3(k, v);
    const t = BigInt(`0x${bytesToHex(v)}`);
    if (t >= 1n && t <= N - 1n) return t;
    k = hmacSm3(k, cat(v, Uint8Array.of(0x00)));
    v = hmacSm3(k, v);
  }
}

/**
 * sm2Sign signs `message` with the private key d: SM2 (GB/T 32918.2 §6.1) over
 * e = SM3(Z_A ‖ message) with the default ID, returned as r ‖ s (64 bytes). Deterministic unless
 * `randomness` is given (mixed into the nonce derivation, never used alone).
 */
export function sm2Sign(d: Uint8Array, message: Uint8Array, randomness: Uint8Array = new Uint8Array(0)): Uint8Array {
  checkPrivate(d);
  if (!(message instanceof Uint8Array)) badInput('sm2: message must be bytes');
  const pubHex = sm2.getPublicKeyFromPrivateKey(bytesToHex(d));
  const e = hexToBytes(sm2.getHash(message, pubHex, SM2_DEFAULT_ID));
  return signWith(d, pubHex, message, nonceFor(d, e, randomness));
}

/**
 * sm2SignWithNonce is {@link sm2Sign} with the caller's k, for the known-answer test of GB/T
 * 32918.5 Appendix A only: a k that is not secret or is used twice reveals the private key.
 * Requires: 1 <= k <= n-1.
 */
export function sm2SignWithNonce(d: Uint8Array, message: Uint8Array, k: bigint): Uint8Array {
  checkPrivate(d);
  if (typeof k !== 'bigint' || k < 1n || k > N - 1n) badInput('sm2: nonce out of range [1, n-1]');
  return signWith(d, sm2.getPublicKeyFromPrivateKey(bytesToHex(d)), message, k);
}

function signWith(d: Uint8Array, pubHex: string, message: Uint8Array, k: bigint): Uint8Array {
  // GB/T 32918.2 §6.1 A3–A4: (x1, y1) = [k]G; the library takes (k, x1) from a pool.
  const kG = sm2.getPublicKeyFromPrivateKey(k.toString(16).padStart(64, '0'));
  const x1 = BigInt(`0x${kG.slice(2, 66)}`);
  const sig = sm2.doSignature(message, bytesToHex(d), { hash: true, der: false, userId: SM2_DEFAULT_ID, publicKey: pubHex, pointPool: [{ k, x1 }] });
  if (sig.length !== 2 * SM2_SIGNATURE_SIZE) throw new Error(`core: bad math: SM2 signature of ${sig.length / 2} bytes`);
  return hexToBytes(sig);
}

/**
 * sm2Verify checks an SM2 signature r ‖ s (64 bytes) by `publicKey` over `message` with the
 * default ID (GB/T 32918.2 §7.1). Returns false, never throws, for any malformed key or signature.
 */
export function sm2Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!isSm2PublicKey(publicKey) || !(signature instanceof Uint8Array) || signature.length !== SM2_SIGNATURE_SIZE) return false;
  const r = BigInt(`0x${bytesToHex(signature.subarray(0, 32))}`);
  const s = BigInt(`0x${bytesToHex(signature.subarray(32))}`);
  // §7.1 B1–B2: r, s ∈ [1, n−1]; anything else is not a signature (and has no second spelling).
  if (r < 1n || r > N - 1n || s < 1n || s > N - 1n) return false;
  try {
    return sm2.doVerifySignature(message, bytesToHex(signature), bytesToHex(publicKey), { hash: true, der: false, userId: SM2_DEFAULT_ID });
  } catch {
    return false;
  }
}
