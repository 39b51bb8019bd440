/**
 * The digest bundles of one replay chunk (layout 2, src/storage/layout2.ts `G ‖ u64be(N)`;
 * contracts-free-ledger/SPEC.md#storage, docs/storage-v2.md): the content digests the store
 * confirms its digest-index candidates against must be exactly the entries' own. Per bundle of
 * 256 entries, one record per entry, in slot order: u8(slot) ‖ u8(len) ‖ alg ‖ 32 bytes, where
 * alg and bytes are the entry's digest (SPEC.md#content-digests). A missing bundle, one that does
 * not decode strictly, a record missing, changed, repeated, or naming an entry beyond the size,
 * is a `digest-index` problem. Entries already reported (invalid, or whose leaf differs from the
 * stored one) are not checked again.
 *
 * Walked in place, without decoding records into objects: this runs for every entry.
 */
import { toHex } from '../core/bytes.js';
import { HASH_SIZE } from '../core/merkle/hash.js';
import { BUNDLE } from '../storage/layout2.js';
import type { Problem } from './report.js';

const ascii = new TextEncoder();
const text = new TextDecoder();

/**
 * checkDigestBundles checks the digest bundles `bundles` (from the bundle of entry `start` on)
 * against the chunk's `count` entries: `algs[i]` and `digests[32·i …]` are entry start + i's
 * digest (alg null: the entry is invalid), `skip` the offsets already reported. `cut`: the chunk
 * stopped at a missing entry, so the last bundle read is not whole (its extra records are not judged).
 */
export function checkDigestBundles(
  start: bigint,
  count: number,
  cut: boolean,
  bundles: ReadonlyArray<Uint8Array | undefined>,
  algs: ReadonlyArray<string | null>,
  digests: Uint8Array,
  skip: ReadonlySet<number>,
  out: { add(p: Problem): void },
): void {
  const algBytes = new Map<string, Uint8Array>();
  for (let j = 0; j * BUNDLE < count; j++) {
    const b = start / BigInt(BUNDLE) + BigInt(j);
    const lo = start + BigInt(j * BUNDLE);
    const n = Math.min(BUNDLE, count - j * BUNDLE);
    const whole = !cut || (j + 1) * BUNDLE <= count;
    const bytes = bundles[j];
    const problem = (index: bigint, message: string, expected?: string, found?: string) =>
      out.add({ kind: 'digest-index', index, message, ...(expected !== undefined ? { expected } : {}), ...(found !== undefined ? { found } : {}) });
    if (bytes === undefined) {
      problem(lo, `digest bundle ${b} (entries ${lo}..${lo + BigInt(n) - 1n}) is not stored: the digests of its entries cannot be found`, `digest bundle ${b}`, 'nothing');
      continue;
    }
    const want = (i: number): string => `${algs[j * BUNDLE + i]}:${toHex(digests.subarray((j * BUNDLE + i) * HASH_SIZE, (j * BUNDLE + i + 1) * HASH_SIZE))}`;
    const checked = (i: number): boolean => i < n && algs[j * BUNDLE + i] !== null && !skip.has(j * BUNDLE + i);
    let next = 0; // the next slot that should have a record
    let at = 0;
    for (; at < bytes.length; ) {
      const slot = bytes[at] as number;
      const len = bytes[at + 1] ?? 0;
      if (at + 2 > bytes.length || len < 1 || len > 32 || at + 2 + len + HASH_SIZE > bytes.length) {
        problem(lo + BigInt(next), `digest bundle ${b} does not decode: a record at offset ${at} is malformed (the records from there on cannot be read)`, `u8(slot) ‖ u8(1..32) ‖ alg ‖ 32 bytes`, `${bytes.length - at} bytes: ${toHex(bytes.subarray(at, at + 8))}…`);
        next = n; // nothing more is read, nor reported missing
        break;
      }
      const alg = bytes.subarray(at + 2, at + 2 + len);
      const digest = bytes.subarray(at + 2 + len, at + 2 + len + HASH_SIZE);
      at += 2 + len + HASH_SIZE;
      const index = lo + BigInt(slot);
      const found = () => `${text.decode(alg)}:${toHex(digest)}`;
      if (slot < next) {
        problem(index, `digest bundle ${b} holds a second record for entry ${index} (or its records are out of order)`, `one record per entry, in order`, found());
        continue;
      }
      for (; next < slot; next++) if (checked(next)) problem(lo + BigInt(next), `digest bundle ${b} has no record for entry ${lo + BigInt(next)}`, want(next), 'no record');
      next = slot + 1;
      if (slot >= n) {
        if (whole) problem(index, `digest bundle ${b} holds a record for entry ${index}, beyond the stored size`, `records for entries ${lo}..${lo + BigInt(n) - 1n}`, found());
        continue;
      }
      if (!checked(slot)) continue;
      const a = algs[j * BUNDLE + slot] as string;
      let e = algBytes.get(a);
      if (e === undefined) algBytes.set(a, (e = ascii.encode(a)));
      if (!same(alg, e, 0, e.length) || !same(digest, digests, (j * BUNDLE + slot) * HASH_SIZE, HASH_SIZE)) {
        problem(index, `digest bundle ${b} records another digest for entry ${index} than the entry has`, want(slot), found());
      }
    }
    for (; next < n; next++) if (checked(next)) problem(lo + BigInt(next), `digest bundle ${b} has no record for entry ${lo + BigInt(next)}`, want(next), 'no record');
  }
}

/** same tells whether `a` equals `b[at, at + n)` (and is n bytes long). */
function same(a: Uint8Array, b: Uint8Array, at: number, n: number): boolean {
  if (a.length !== n) return false;
  for (let i = 0; i < n; i++) if (a[i] !== b[at + i]) return false;
  return true;
}
