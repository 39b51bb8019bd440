/**
 * Streaming SHA-256 or SM3 of a file, for the court verification page (docs/verify-page.md#hashing):
 * SHA-256 for a `c2sp` log, SM3 for a `gm` log (the suite of the pinned key, SPEC.md#crypto-suites).
 *
 * WebCrypto's `crypto.subtle.digest` is one-shot: it needs the whole file in one ArrayBuffer (a
 * 2 GiB document does not fit a tab) and exists only in secure contexts (not on a page served
 * over plain http from a LAN address). So the page reads the File in fixed-size chunks
 * (`Blob.slice` + `arrayBuffer`) and feeds an incremental hash (SHA-256 from @noble/hashes, the
 * same implementation src/core uses; SM3 from src/web/sm3.ts, on @noble/hashes' Merkle–Damgård
 * base): memory stays at one chunk, and the result is the FIPS 180-4 or GB/T 32905 digest of the
 * bytes, identical in every browser, from disk or from a log. Several algorithms can be computed
 * in one pass (a page with keys of both suites pinned reads each file once).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../core/bytes.js';
import type { DigestAlg } from '../core/entry/schema.js';
import { createSm3 } from './sm3.js';

/** The part of a DOM `Blob`/`File` the hasher needs (Node's Blob has it too). */
export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/** Default chunk: 4 MiB, a few milliseconds of hashing between progress reports. */
export const HASH_CHUNK_BYTES = 4 << 20;

/** Options of {@link digestBlob}. */
export interface HashOptions {
  /** Bytes read per step (default {@link HASH_CHUNK_BYTES}); at least 1. */
  readonly chunkBytes?: number;
  /** Called after each chunk with the bytes hashed so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Return true to stop early (the promise rejects with an AbortError-named Error). */
  readonly cancelled?: () => boolean;
}

/** The incremental hashes the page can compute. */
const HASHERS: Readonly<Record<DigestAlg, () => { update(b: Uint8Array): unknown; digest(): Uint8Array }>> = {
  sha256: () => sha256.create(),
  sm3: createSm3,
};

/**
 * digestBlob returns the lowercase hex digest of a Blob's bytes under each algorithm of `algs`,
 * reading it once, chunk by chunk. Requires: `chunkBytes` is a positive integer; at least one
 * algorithm. See SPEC.md#content-digests (a file's digest is H of its bytes, H the log's suite's).
 *
 * @example
 * const { sm3 } = await digestBlob(input.files[0], ['sm3'], { onProgress: (d, t) => bar.value = d / t });
 */
export async function digestBlob(blob: BlobLike, algs: readonly DigestAlg[], options: HashOptions = {}): Promise<Partial<Record<DigestAlg, string>>> {
  const chunk = options.chunkBytes ?? HASH_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new Error(`digestBlob: chunkBytes ${chunk}, want a positive integer`);
  if (algs.length === 0) throw new Error('digestBlob: no algorithm');
  const hashers = [...new Set(algs)].map((alg) => [alg, HASHERS[alg]()] as const);
  const total = blob.size;
  for (let at = 0; at < total; at += chunk) {
    if (options.cancelled?.()) {
      const err = new Error('hashing cancelled');
      err.name = 'AbortError';
      throw err;
    }
    const end = Math.min(total, at + chunk);
    const buf = new Uint8Array(await blob.slice(at, end).arrayBuffer());
    if (buf.length !== end - at) throw new Error(`digestBlob: read ${buf.length} bytes at ${at}, want ${end - at} (the file changed while it was read)`);
    for (const [, h] of hashers) h.update(buf);
    options.onProgress?.(end, total);
  }
  if (total === 0) options.onProgress?.(0, 0);
  const out: Partial<Record<DigestAlg, string>> = {};
  for (const [alg, h] of hashers) out[alg] = toHex(h.digest());
  return out;
}

/**
 * sha256Blob returns the lowercase hex SHA-256 of a Blob's bytes, reading it chunk by chunk.
 * Requires: `chunkBytes` is a positive integer. See SPEC.md#content-digests.
 *
 * @example
 * const hex = await sha256Blob(input.files[0], { onProgress: (d, t) => bar.value = d / t });
 */
export async function sha256Blob(blob: BlobLike, options: HashOptions = {}): Promise<string> {
  return (await digestBlob(blob, ['sha256'], options)).sha256 as string;
}

/** sm3Blob returns the lowercase hex SM3 (GB/T 32905) of a Blob's bytes, reading it chunk by chunk: a `gm` log's file digest. */
export async function sm3Blob(blob: BlobLike, options: HashOptions = {}): Promise<string> {
  return (await digestBlob(blob, ['sm3'], options)).sm3 as string;
}
