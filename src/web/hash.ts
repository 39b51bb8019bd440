/**
 * Streaming SHA-256 of a file, for the court verification page (docs/verify-page.md#hashing).
 *
 * WebCrypto's `crypto.subtle.digest` is one-shot: it needs the whole file in one ArrayBuffer (a
 * 2 GiB document does not fit a tab) and exists only in secure contexts (not on a page served
 * over plain http from a LAN address). So the page reads the File in fixed-size chunks
 * (`Blob.slice` + `arrayBuffer`) and feeds an incremental SHA-256 (@noble/hashes, the same
 * implementation src/core uses): memory stays at one chunk, and the result is the FIPS 180-4
 * digest of the bytes, identical in every browser, from disk or from a log.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../core/bytes.js';

/** The part of a DOM `Blob`/`File` the hasher needs (Node's Blob has it too). */
export interface BlobLike {
  readonly size: number;
  slice(start?: number, end?: number): { arrayBuffer(): Promise<ArrayBuffer> };
}

/** Default chunk: 4 MiB, a few milliseconds of hashing between progress reports. */
export const HASH_CHUNK_BYTES = 4 << 20;

/** Options of {@link sha256Blob}. */
export interface HashOptions {
  /** Bytes read per step (default {@link HASH_CHUNK_BYTES}); at least 1. */
  readonly chunkBytes?: number;
  /** Called after each chunk with the bytes hashed so far and the total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Return true to stop early (the promise rejects with an AbortError-named Error). */
  readonly cancelled?: () => boolean;
}

/**
 * sha256Blob returns the lowercase hex SHA-256 of a Blob's bytes, reading it chunk by chunk.
 * Requires: `chunkBytes` is a positive integer. See SPEC.md#content-digests (a file's digest is
 * SHA-256 of its bytes).
 *
 * @example
 * const hex = await sha256Blob(input.files[0], { onProgress: (d, t) => bar.value = d / t });
 */
export async function sha256Blob(blob: BlobLike, options: HashOptions = {}): Promise<string> {
  const chunk = options.chunkBytes ?? HASH_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunk) || chunk < 1) throw new Error(`sha256Blob: chunkBytes ${chunk}, want a positive integer`);
  const h = sha256.create();
  const total = blob.size;
  for (let at = 0; at < total; at += chunk) {
    if (options.cancelled?.()) {
      const err = new Error('hashing cancelled');
      err.name = 'AbortError';
      throw err;
    }
    const end = Math.min(total, at + chunk);
    const buf = new Uint8Array(await blob.slice(at, end).arrayBuffer());
    if (buf.length !== end - at) throw new Error(`sha256Blob: read ${buf.length} bytes at ${at}, want ${end - at} (the file changed while it was read)`);
    h.update(buf);
    options.onProgress?.(end, total);
  }
  if (total === 0) options.onProgress?.(0, 0);
  return toHex(h.digest());
}
