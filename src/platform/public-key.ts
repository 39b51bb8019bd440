/**
 * The log's public key as PEM SubjectPublicKeyInfo (RFC 5280 §4.1.2.7), for tools that do not read
 * signed-note verifier keys: OpenSSL, a 密评 assessor's toolkit, an HSM import. Node side only
 * (node:crypto); the verifier key string stays the one thing verifiers pin (SPEC.md#signed-notes).
 *
 * - Ed25519 (`c2sp` logs): RFC 8410 SPKI, made by node:crypto from the raw key as a JWK.
 * - SM2 (`gm` logs, SPEC.md#sm2-note-signatures): id-ecPublicKey (1.2.840.10045.2.1) with the
 *   curve OID sm2p256v1 (1.2.156.10197.1.301, GB/T 33560) and the uncompressed 65-byte point, as
 *   GB/T 35276-2017 §7 and OpenSSL 3 write it, so that
 *   `openssl pkeyutl -verify -pubin -inkey log.pem -rawin -digest sm3 -pkeyopt distid:1234567812345678`
 *   checks a checkpoint signature (r ‖ s as DER) with it. node:crypto has no SM2 key type to
 *   export from, so the DER is written here: it is fixed-length, one constant prefix and the point.
 */
import { createPublicKey } from 'node:crypto';
import { SM2_PUBLIC_KEY_SIZE } from '../core/crypto-gm.js';
import { parseVerifierKey, type VerifierKey } from '../core/note.js';

/**
 * SEQUENCE { SEQUENCE { OID id-ecPublicKey, OID sm2p256v1 }, BIT STRING (0 unused bits) … }: the
 * DER of an SM2 SPKI up to the 65-byte point (91 bytes in all).
 */
const SM2_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d, 0x03, 0x42, 0x00,
]);

/** sm2SpkiDer returns the DER SubjectPublicKeyInfo of an SM2 public key (0x04 ‖ X ‖ Y). */
export function sm2SpkiDer(point: Uint8Array): Uint8Array {
  if (point.length !== SM2_PUBLIC_KEY_SIZE || point[0] !== 0x04) throw new Error(`sm2SpkiDer: want a ${SM2_PUBLIC_KEY_SIZE}-byte uncompressed point`);
  const out = new Uint8Array(SM2_SPKI_PREFIX.length + point.length);
  out.set(SM2_SPKI_PREFIX);
  out.set(point, SM2_SPKI_PREFIX.length);
  return out;
}

/** pem wraps DER in PEM armour (RFC 7468: base64 in 64-character lines). */
function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * publicKeyPem returns the PEM SPKI (`-----BEGIN PUBLIC KEY-----`) of a log's verifier key (a
 * string or parsed): Ed25519 or SM2 by the key's algorithm. Throws KEY_MALFORMED for a bad string.
 */
export function publicKeyPem(key: string | VerifierKey): string {
  const k = typeof key === 'string' ? parseVerifierKey(key) : key;
  if (k.algorithm === 'sm2') return pem('PUBLIC KEY', sm2SpkiDer(k.publicKey));
  const x = Buffer.from(k.publicKey.buffer, k.publicKey.byteOffset, k.publicKey.byteLength).toString('base64url');
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' }).export({ type: 'spki', format: 'pem' }).toString();
}
