/**
 * Entries of a layout-2 data directory for the local audit (local.ts): the complete C2SP entry
 * bundles `E ‖ u64be(N)` and the pieces `F ‖ u64be(start)` of the partial one (what each flush
 * added to it; src/storage/layout2.ts; contracts-free-ledger/SPEC.md#layout-2, docs/storage-v2.md)
 * read and split strictly, with the digest bundles `G ‖ u64be(N)` (digest pieces `H ‖ u64be(start)`
 * for the partial one) and attachments `a ‖ u64be(i)` of the same entries. Every complete bundle
 * must hold exactly 256 entries, and the pieces of the partial one must follow each other from its
 * first entry to the size; a bundle or piece that is missing, short or cut inside an entry stops
 * the replay there (`entry-missing`), bytes or entries beyond what the size calls for are
 * `entry-extra`. Nothing is taken on trust from a lenient decoder: the walk is done here.
 */
import { bundleKey, bundlePieceKey, digestBundleKey, digestPieceKey, BUNDLE, PREFIX2 } from '../storage/layout2.js';
import { concatBytes, toHex } from '../core/bytes.js';
import { indexOfKey, indexRange, PREFIX } from '../storage/keys.js';
import type { EntryRead } from './reads.js';
import type { Problem } from './report.js';
import type { Db } from './local-db.js';
import { collect, HIGH_WATER } from './local-db.js';

/** How a stored bundle splits: the entries found (offset and length) and why the walk stopped short, if it did. */
export interface BundleWalk {
  readonly offsets: number[];
  readonly lengths: number[];
  /** The walk met bytes that are not a whole entry: where, and what. */
  readonly cut?: { readonly at: number; readonly message: string };
}

/**
 * walkBundle splits an entry bundle (C2SP tlog-tiles: per entry a big-endian u16 length, then the
 * bytes) without judging how many entries it should hold. Requires: nothing.
 */
export function walkBundle(bytes: Uint8Array): BundleWalk {
  const offsets: number[] = [];
  const lengths: number[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (at + 2 > bytes.length) return { offsets, lengths, cut: { at, message: `a truncated length prefix at offset ${at}` } };
    const len = ((bytes[at] as number) << 8) | (bytes[at + 1] as number);
    if (at + 2 + len > bytes.length) return { offsets, lengths, cut: { at, message: `entry bytes cut at offset ${at}: got ${bytes.length - at - 2}, want ${len}` } };
    offsets.push(at + 2);
    lengths.push(len);
    at += 2 + len;
  }
  return { offsets, lengths };
}

/** The next stored entry bundle at or after `b`, for the message of a missing one. */
async function nextBundle(db: Db, b: bigint): Promise<string> {
  const [k] = await db.keys({ gte: bundleKey(b), lt: Uint8Array.of(PREFIX2.bundle + 1), limit: 1 }).all();
  if (k === undefined || k.length !== 9) return 'no entry bundle at or after it';
  const n = indexOfKey(k);
  return `the next stored entry bundle is ${n} (entries from ${n * BigInt(BUNDLE)})`;
}

/** The partial bundle as its pieces hold it: one value per piece, in order, and its digest pieces joined. */
interface Pieces {
  /** The pieces' bytes in key order, each with its start. */
  readonly pieces: ReadonlyArray<{ readonly start: bigint; readonly bytes: Uint8Array }>;
  /** The digest pieces of those pieces, joined in order (undefined: none stored). */
  readonly digests?: Uint8Array;
  readonly problems: readonly Problem[];
}

/**
 * readPieces reads the pieces of the partial bundle from entry `lo` (below `lo` + 256) and their
 * digest pieces; a digest piece with no entry piece of the same start is a problem.
 */
async function readPieces(db: Db, lo: bigint): Promise<Pieces> {
  const hi = lo + BigInt(BUNDLE);
  const rows = await db.iterator({ gte: bundlePieceKey(lo), lt: bundlePieceKey(hi) }).all();
  const digestRows = await db.iterator({ gte: digestPieceKey(lo), lt: digestPieceKey(hi) }).all();
  const pieces = rows.filter(([k]) => k.length === 9).map(([k, v]) => ({ start: indexOfKey(k), bytes: v }));
  const starts = new Set(pieces.map((p) => p.start));
  const problems: Problem[] = [];
  const parts: Uint8Array[] = [];
  for (const [k, v] of digestRows) {
    const start = k.length === 9 ? indexOfKey(k) : -1n;
    if (!starts.has(start)) {
      problems.push({ kind: 'digest-index', index: start < 0n ? lo : start, message: `a digest piece of the partial bundle (from entry ${start}) has no piece of entries from there`, expected: 'digest pieces beside entry pieces', found: toHex(k) });
      continue;
    }
    parts.push(v);
  }
  const joined = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  parts.reduce((at, p) => (joined.set(p, at), at + p.length), 0);
  return { pieces, ...(parts.length > 0 ? { digests: joined } : {}), problems };
}

/**
 * readBundleEntries reads entries [start, start + count) from their bundles (the partial one from
 * its pieces), with their digest bundles and attachments. Requires: start a multiple of 256 (a chunk's), start + count either a
 * multiple of 256 or the stored size `size` (so the last bundle read must hold exactly what is asked).
 */
export async function readBundleEntries(db: Db, start: bigint, count: number, size: bigint): Promise<EntryRead> {
  const B = BigInt(BUNDLE);
  if (start % B !== 0n || count < 1) throw new Error(`audit: bad math: entries [${start}, +${count}) are not bundle-aligned`);
  const end = start + BigInt(count);
  const first = start / B;
  const n = Number((end - 1n) / B - first) + 1;
  const keys: Uint8Array[] = [];
  for (let j = 0; j < n; j++) keys.push(bundleKey(first + BigInt(j)));
  for (let j = 0; j < n; j++) keys.push(digestBundleKey(first + BigInt(j)));
  const values = await db.getMany(keys);
  const parts: Uint8Array[] = [];
  const lengths: number[] = [];
  const problems: Problem[] = [];
  let gap: Problem | undefined;
  let read = 0;
  /** The partial bundle's digest pieces, joined (when the read reaches it). */
  let digestTail: Uint8Array | undefined;
  for (let j = 0; j < n && gap === undefined; j++) {
    const b = first + BigInt(j);
    const lo = b * B;
    const want = Number((lo + B < end ? lo + B : end) - lo);
    if (want < BUNDLE) {
      // The partial bundle: its pieces, in order, must follow each other from lo to the size.
      const tail = await readPieces(db, lo);
      problems.push(...tail.problems);
      digestTail = tail.digests;
      let next = lo;
      for (const piece of tail.pieces) {
        if (gap !== undefined) break;
        if (piece.start !== next) {
          const index = piece.start < next ? piece.start : next;
          if (piece.start < next) {
            problems.push({ kind: 'entry-extra', index, message: `a piece of the partial bundle ${b} starts at entry ${piece.start}, inside the piece before it (which ends at ${next})`, expected: `a piece from entry ${next}`, found: `a piece from entry ${piece.start}` });
            continue;
          }
          gap = { kind: 'entry-missing', index, message: `entry ${index} is not stored: the pieces of the partial bundle ${b} skip from entry ${next} to ${piece.start}, but the stored size is ${size}; the tree cannot be replayed past it`, expected: `a piece from entry ${next}`, found: `a piece from entry ${piece.start}` };
          break;
        }
        const walk = walkBundle(piece.bytes);
        const room = Number(lo + BigInt(want) - next);
        const got = Math.min(walk.lengths.length, room);
        for (let i = 0; i < got; i++) {
          parts.push(piece.bytes.subarray(walk.offsets[i] as number, (walk.offsets[i] as number) + (walk.lengths[i] as number)));
          lengths.push(walk.lengths[i] as number);
        }
        read += got;
        if (walk.cut !== undefined && walk.lengths.length < room) {
          const index = next + BigInt(walk.lengths.length);
          gap = { kind: 'entry-missing', index, message: `entry ${index} is not stored whole: the piece of bundle ${b} from entry ${piece.start} holds ${walk.lengths.length} whole entries, then ${walk.cut.message}; the tree cannot be replayed past it`, expected: `entries up to ${size}`, found: `${walk.lengths.length} entries and a cut one` };
          break;
        }
        if (walk.lengths.length > room || walk.cut !== undefined || walk.lengths.length === 0) {
          const at = next + BigInt(got);
          problems.push({ kind: 'entry-extra', index: at, message: `the piece of bundle ${b} from entry ${piece.start} holds ${walk.lengths.length === 0 ? 'no entry' : `entries past the stored size ${size}`}${walk.cut ? ` (and ${walk.cut.message})` : ''}`, expected: `at most ${room} entries`, found: `${walk.lengths.length} entries` });
        }
        next += BigInt(got);
      }
      if (gap === undefined && next < lo + BigInt(want)) {
        gap = { kind: 'entry-missing', index: next, message: `entry ${next} is not stored: the pieces of the partial bundle ${b} end there, but the stored size is ${size}; the tree cannot be replayed past it`, expected: `pieces up to entry ${size}`, found: tail.pieces.length === 0 ? 'no piece' : `pieces up to entry ${next}` };
      }
      break;
    }
    const v = values[j];
    if (v === undefined) {
      gap = {
        kind: 'entry-missing',
        index: lo,
        message: `entry bundle ${b} (entries ${lo}..${lo + BigInt(want) - 1n}) is not stored, but the stored size is ${size}; the tree cannot be replayed past entry ${lo}`,
        expected: `entry bundle ${b}`,
        found: await nextBundle(db, b),
      };
      break;
    }
    const walk = walkBundle(v);
    const got = Math.min(walk.lengths.length, want);
    for (let i = 0; i < got; i++) {
      parts.push(v.subarray(walk.offsets[i] as number, (walk.offsets[i] as number) + (walk.lengths[i] as number)));
      lengths.push(walk.lengths[i] as number);
    }
    read += got;
    if (got < want) {
      const index = lo + BigInt(got);
      gap = {
        kind: 'entry-missing',
        index,
        message: `entry ${index} is not stored: entry bundle ${b} ${walk.cut ? `holds ${got} whole entries, then ${walk.cut.message}` : `holds ${got} entries`}, but the stored size is ${size}; the tree cannot be replayed past it`,
        expected: `${want} entries in bundle ${b}`,
        found: `${got} entries${walk.cut ? ' and a cut one' : ''}`,
      };
    } else if (walk.lengths.length > want || walk.cut !== undefined) {
      const index = lo + BigInt(want);
      const extra = walk.lengths.length - want;
      problems.push({
        kind: 'entry-extra',
        index,
        message: `entry bundle ${b} holds more than its ${want} entries (${extra > 0 ? `${extra} more entries` : ''}${extra > 0 && walk.cut ? ' and ' : ''}${walk.cut ? walk.cut.message : ''}): ${index === size ? `entries stored beyond the stored size ${size}` : 'a bundle holds 256'}`,
        expected: `${want} entries`,
        found: `${walk.lengths.length} entries${walk.cut ? ' and trailing bytes' : ''}`,
      });
    }
  }
  const data = concatBytes(...parts);
  const rows = read === 0 ? [] : await collect(db.iterator({ ...indexRange(PREFIX.attachment, start, start + BigInt(read)), highWaterMarkBytes: HIGH_WATER }), read);
  // classic-level copies each value into a Buffer of its own: no further copy is needed.
  const attachments = rows.map(([k, v]) => ({ offset: Number(indexOfKey(k) - start), bytes: v }));
  const digestBundles: Array<Uint8Array | undefined> = values.slice(n, 2 * n).map((v) => (v === undefined ? undefined : new Uint8Array(v)));
  if (end % BigInt(BUNDLE) !== 0n) digestBundles[n - 1] = digestTail;
  return { data, lengths: Uint32Array.from(lengths), attachments, digestBundles, ...(problems.length > 0 ? { problems } : {}), ...(gap ? { gap } : {}) };
}
