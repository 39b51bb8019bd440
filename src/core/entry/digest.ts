/**
 * Content digests: a file's digest is the hash of its bytes; a JSON record's digest is the hash
 * of its RFC 8785 canonical form, so any third party can recompute it; an HJ 212 packet's digest is
 * the hash of its raw bytes as received. See contracts-free-ledger/SPEC.md#entries.
 */
import { sha256 } from '../crypto.js';
import { sm3 } from '../crypto-gm.js';
import { toHex, utf8 } from '../bytes.js';
import { LedgerError, badInput } from '../errors.js';
import { canonicalJsonText } from './jcs.js';
import { digestSchema, type Digest, type DigestAlg, type Entry } from './schema.js';

/** One hash function per digest algorithm (SPEC.md#content-digests). */
const HASHES: { readonly [A in DigestAlg]: (data: Uint8Array) => Uint8Array } = { sha256, sm3 };

function hashFor(alg: DigestAlg): (data: Uint8Array) => Uint8Array {
  if (typeof alg !== 'string' || !Object.hasOwn(HASHES, alg)) badInput(`digest alg: got ${String(alg)}, want one of ${Object.keys(HASHES).join(', ')}`);
  return HASHES[alg];
}

/**
 * digestBytes returns the content digest `{alg, hex}` of raw bytes (a file, an HJ 212 packet as
 * received). Requires: `bytes` is a Uint8Array; `alg` is a supported algorithm (default `sha256`).
 * See contracts-free-ledger/SPEC.md#entries.
 *
 * @example
 * ```ts
 * digestBytes(utf8('abc')); // {alg:'sha256', hex:'ba7816bf…f20015ad'}
 * ```
 */
export function digestBytes(bytes: Uint8Array, alg: DigestAlg = 'sha256'): Digest {
  if (!(bytes instanceof Uint8Array)) badInput(`digestBytes: got ${typeof bytes}, want a Uint8Array`);
  return { alg, hex: toHex(hashFor(alg)(bytes)) };
}

/**
 * digestRecord returns the content digest of a JSON record: the hash of its RFC 8785 canonical
 * UTF-8 bytes. Requires: `record` is plain JSON as defined by {@link canonicalJson} (else
 * INPUT_INVALID naming the path, e.g. `record.readings[2]: got NaN, want a finite number`).
 * See contracts-free-ledger/SPEC.md#entries.
 *
 * @example
 * ```ts
 * digestRecord({ b: 1, a: 'x' }).hex === toHex(sha256(utf8('{"a":"x","b":1}')));
 * ```
 */
export function digestRecord(record: unknown, alg: DigestAlg = 'sha256'): Digest {
  const hash = hashFor(alg);
  return { alg, hex: toHex(hash(utf8(canonicalJsonText(record, 'record')))) };
}

/**
 * checkDigest throws DIGEST_MISMATCH unless `digest` (computed from the content) equals the
 * entry's digest, algorithm and value. The message carries both digests as evidence.
 * Requires: `digest` is a well-formed `{alg, hex}` (else INPUT_INVALID); `entry` was decoded or
 * validated. See contracts-free-ledger/SPEC.md#entries.
 */
export function checkDigest(entry: Pick<Entry, 'digest'>, digest: Digest): void {
  const got = digestSchema.safeParse(digest);
  if (!got.success) badInput(`digest: malformed (${got.error.issues[0]?.message ?? 'invalid'}), want {alg, hex} with a known alg and lowercase hex`);
  const want = entry.digest;
  if (got.data.alg !== want.alg || got.data.hex !== want.hex) {
    throw new LedgerError(
      'DIGEST_MISMATCH',
      `content digest ${got.data.alg}:${got.data.hex} does not match entry digest ${want.alg}:${want.hex}`,
    );
  }
}
