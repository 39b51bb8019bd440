/**
 * One aligned chunk of a replay, the unit of parallel work: read the entries (or take them from
 * the task), decode each strictly, hash every leaf and every tree node inside the chunk (RFC 9162
 * §2.1.1, level by level), compare them with the stored nodes, and check the index records. Runs
 * unchanged inline or on a worker thread (worker.ts); a worker reads its chunk from LevelDB
 * itself, so storage decoding is parallel too.
 *
 * Per entry the hot path allocates next to nothing: leaves and nodes are hashed from scratch
 * buffers with node:crypto's one-shot `hash` straight into one buffer per level, digests are
 * parsed into one buffer, and index fingerprints use a midstate (print.ts) instead of a hash call.
 *
 * The hash is the log's crypto suite's (SPEC.md#crypto-suites), taken from the pinned verifier
 * key once per worker (pool.ts, worker.ts), never from the data: SHA-256 for a `c2sp` log, SM3 for
 * a `gm` log, for leaves, nodes and the stored attachments alike ({@link chunkHash}).
 *
 * A chunk starts at a multiple of CHUNK_SIZE (a power of two), so the nodes completed inside it
 * are exactly the perfect subtrees inside it: relative node (l, i) is absolute node
 * (l, (start >> l) + i). The engine joins chunks through their roots and right edges (replay.ts).
 *
 * Cascades: a stored node that differs from its recomputed hash is reported only if neither of
 * its children was itself "tainted" (differed, or sits above a node that differed); otherwise it
 * is the expected consequence of the problem below it and only counted as suppressed.
 */
import { Buffer } from 'node:buffer';
import { hash } from 'node:crypto';
import { parseBlock, verifyBlock } from '../core/block.js';
import { toHex } from '../core/bytes.js';
import { decodeEntry, MAX_ENTRY_SIZE } from '../core/entry/codec.js';
import { isLedgerError } from '../core/errors.js';
import { HASH_SIZE } from '../core/merkle/hash.js';
import type { VerifierKey } from '../core/note.js';
import { C2SP, type CryptoSuite, type SuiteId } from '../core/suite.js';
import { IndexPrint, PRINT_SECRET_SIZE } from './print.js';
import type { Problem, ProblemKind } from './report.js';
import type { ChunkIo, EntryRead, IndexItem, IndexedTo, StoredNodes } from './reads.js';
import { checkDigestBundles } from './chunk-digests.js';
import { RECORD_SIZE } from '../storage/run-index.js';

export { PRINT_SECRET_SIZE } from './print.js';

/** log2 of the chunk size. */
export const CHUNK_LEVEL = 12;
/** Entries per chunk (aligned): 4,096 = 16 entry bundles. */
export const CHUNK_SIZE = 1 << CHUNK_LEVEL;
/** Problems a chunk lists; more are only counted. */
const LIST_PER_CHUNK = 64;

/**
 * How a chunk checks the index records of its entries:
 * - `print`: fold each expected record key into a keyed fingerprint (see {@link IndexPrint});
 *   the engine compares the sum with the fingerprint of a sequential scan of the index. Fast.
 * - `lookup`: look every expected record up (`hasMany`) and report each one missing. Used to
 *   locate the problem once the fingerprints disagree.
 */
export type IndexMode = 'print' | 'lookup';

/** One chunk to replay. */
export interface ChunkTask {
  /** Index of the first entry. Requires: a multiple of CHUNK_SIZE. */
  readonly start: bigint;
  /** Entries to replay (1..CHUNK_SIZE); fewer are replayed if one is missing. */
  readonly count: number;
  /** Offsets (1..count, ascending) after which to capture the right edge, for checkpoint roots. */
  readonly snapshots: readonly number[];
  /** The entries, when the caller read them (remote); else the worker's storage reads them. */
  readonly read?: EntryRead;
  /** Stored hashes per level, when the caller read them (remote: levels 0, 8, …). */
  readonly stored?: ReadonlyArray<StoredNodes | undefined>;
  /** With a ChunkIo: how to check index records (default `print`). */
  readonly indexMode?: IndexMode;
  /** Only entries below these are in the stored runs of each index (the rest lag: see LocalReads.indexedTo). */
  readonly indexedTo?: IndexedTo;
}

/** What replaying a chunk established. */
export interface ChunkResult {
  readonly start: bigint;
  /** Entries replayed: less than asked when one is missing (see `gap`). */
  readonly count: number;
  /** Why the chunk stopped short; the replay cannot go past it. */
  readonly gap?: Problem;
  /** Located problems (at most LIST_PER_CHUNK), and counts of the rest by kind. */
  readonly problems: readonly Problem[];
  readonly unlisted: Readonly<Partial<Record<ProblemKind, number>>>;
  /** Consequences of listed problems (ancestors of a tainted node). */
  readonly suppressed: number;
  /** The hash of the chunk's root (node CHUNK_LEVEL/(start >> CHUNK_LEVEL)) when the chunk is full. */
  readonly root?: Uint8Array;
  /** Tainted nodes at the chunk's top level, so the engine can carry the cascade upwards. */
  readonly topTaint: readonly bigint[];
  /** The right edge after the chunk: hashes of rangeNodes(0, count), relative. */
  readonly edge: Uint8Array[];
  /** The right edge after each requested offset that was reached. */
  readonly snapshots: ReadonlyArray<{ readonly offset: number; readonly hashes: Uint8Array[] }>;
  /** Index records still to check (when the chunk had no ChunkIo to check them): the caller does. */
  readonly indexItems?: readonly IndexItem[];
  /** In `print` mode: the XOR of the keyed hashes of the expected digest and leaf-hash records. */
  readonly prints?: { readonly digest: Uint8Array; readonly leaf: Uint8Array };
  /** Entries whose records were not expected (invalid, or their leaf differs from storage). */
  readonly badEntries: readonly bigint[];
  readonly nodesCompared: number;
  readonly indexLookups: number;
}

function describe(err: unknown): { code?: string; message: string } {
  if (isLedgerError(err)) return { code: err.code, message: err.message };
  return { message: err instanceof Error ? err.message : String(err) };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** Entry types whose content the log stores as an attachment (src/log/ledger.ts). */
const ATTACHED = new Set(['record', 'hj212']);

/** Collects a chunk's problems: lists the first few, counts the rest. */
class Collector {
  readonly list: Problem[] = [];
  readonly unlisted: Partial<Record<ProblemKind, number>> = {};
  suppressed = 0;
  add(p: Problem): void {
    if (this.list.length < LIST_PER_CHUNK) this.list.push(p);
    else this.unlisted[p.kind] = (this.unlisted[p.kind] ?? 0) + 1;
  }
}

/**
 * compareLevel compares recomputed hashes of nodes [first, first + n) at `level` with the stored
 * ones and returns the tainted nodes of this level: those that differ, and the parents of
 * tainted nodes in `below`. Reports a difference only when no child was tainted.
 */
export function compareLevel(
  level: number,
  first: bigint,
  computed: Uint8Array,
  stored: StoredNodes | undefined,
  below: ReadonlySet<bigint> | undefined,
  out: { add(p: Problem): void; suppressed: number },
): Set<bigint> {
  const n = computed.length / HASH_SIZE;
  const mine = new Set<bigint>();
  if (below !== undefined) {
    for (const c of below) {
      const p = c >> 1n;
      if (p >= first && p < first + BigInt(n)) mine.add(p);
    }
  }
  if (stored === undefined) return mine;
  for (const p of stored.problems ?? []) out.add(p);
  const missing = new Set(stored.missing);
  // Nodes whose stored tile is unreadable: its one problem is listed above, not each node's.
  const unchecked = new Set(stored.unchecked ?? []);
  for (const i of stored.missing) {
    const node = first + BigInt(i);
    out.add({
      kind: 'node-missing',
      level,
      node,
      index: node << BigInt(level),
      message: level === 0 ? `the leaf hash of entry ${node} is not stored` : `tree node ${level}/${node} is not stored`,
      expected: toHex(computed.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE)),
      found: 'nothing',
    });
  }
  if (missing.size === 0 && unchecked.size === 0 && stored.malformed === undefined && sameBytes(computed, stored.hashes)) return mine;
  for (let i = 0; i < n; i++) {
    if (missing.has(i) || unchecked.has(i)) continue;
    const want = computed.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
    const odd = stored.malformed?.get(i);
    const got = odd ?? stored.hashes.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE);
    if (odd === undefined && sameBytes(want, got)) continue;
    const node = first + BigInt(i);
    if (mine.has(node)) {
      out.suppressed++;
      continue;
    }
    mine.add(node);
    out.add({
      kind: 'node-mismatch',
      level,
      node,
      index: node << BigInt(level),
      message:
        level === 0
          ? `entry ${node}'s bytes hash to a leaf that differs from the stored leaf hash: the entry or its leaf was changed`
          : `stored tree node ${level}/${node} differs from the hash of its recomputed children`,
      expected: toHex(want),
      found: toHex(got),
    });
  }
  return mine;
}

/** Scratch for leaf hashing: 0x00 ‖ entry (grown for an oversized entry). */
let leafScratch = new Uint8Array(1 + MAX_ENTRY_SIZE);
/** Scratch for interior nodes: 0x01 ‖ left ‖ right. */
const nodeScratch = new Uint8Array(1 + 2 * HASH_SIZE);
nodeScratch[0] = 0x01;

/** A one-shot 32-byte hash as the hot loop calls it (the result may be a Buffer: it is copied). */
export type ChunkHash = (data: Uint8Array) => Uint8Array;

/** node:crypto's one-shot SHA-256 (OpenSSL): the `c2sp` hash, exactly as before there were suites. */
const nodeSha256: ChunkHash = (data) => hash('sha256', data, 'buffer');

/** The hash chosen per suite, once per thread. */
const chosen = new Map<SuiteId, ChunkHash>();

/**
 * chunkHash returns the fastest correct one-shot hash of `suite` for the hot loop: node:crypto's
 * SHA-256 for `c2sp`; for `gm`, node:crypto's SM3 (OpenSSL 3's default provider) when this Node
 * has it and it agrees with the suite's own SM3 (GB/T 32905-2016) on a known input, else the
 * suite's own (pure JavaScript: correct, slower). Chosen once per thread, not per entry.
 */
export function chunkHash(suite: CryptoSuite): ChunkHash {
  let h = chosen.get(suite.id);
  if (h !== undefined) return h;
  if (suite.id === 'c2sp') h = nodeSha256;
  else {
    h = suite.hash;
    try {
      const native: ChunkHash = (data) => hash('sm3', data, 'buffer');
      // GB/T 32905-2016 Appendix A, example 2: 64 bytes, a full block, as a leaf or node is.
      const probe = new TextEncoder().encode('abcd'.repeat(16));
      if (toHex(native(probe)) === toHex(suite.hash(probe))) h = native;
    } catch {
      // This Node's OpenSSL has no SM3: the suite's own.
    }
  }
  chosen.set(suite.id, h);
  return h;
}

/** H(`data`) copied into `out` at `at`. */
function hashInto(h: ChunkHash, data: Uint8Array, out: Uint8Array, at: number): void {
  out.set(h(data), at);
}

/** Lowercase hex digit values (-1 for anything else). */
const HEX_DIGIT = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) HEX_DIGIT[0x30 + c] = c;
for (let c = 0; c < 6; c++) HEX_DIGIT[0x61 + c] = 10 + c;

/** hexInto writes the bytes of `hex` (2·n lowercase hex digits, as the schema checked) into `out` at `at`. */
function hexInto(hex: string, n: number, out: Uint8Array, at: number): void {
  if (hex.length !== 2 * n) throw new Error(`audit: bad math: a ${hex.length}-digit digest passed the schema`);
  for (let i = 0; i < n; i++) {
    const hi = HEX_DIGIT[hex.charCodeAt(2 * i)] ?? -1;
    const lo = HEX_DIGIT[hex.charCodeAt(2 * i + 1)] ?? -1;
    if (hi < 0 || lo < 0) throw new Error('audit: bad math: a digest that is not lowercase hex passed the schema');
    out[at + i] = (hi << 4) | lo;
  }
}

/**
 * rightEdgeOf returns the hashes of the perfect subtrees covering the first `size` leaves of the
 * chunk, largest first (rangeNodes(0, size), relative), as copies. Requires: `levels[l]` holds
 * every node of level l complete inside the chunk, and 1 <= size <= the chunk's entry count.
 */
function rightEdgeOf(levels: readonly Uint8Array[], size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let begin = 0;
  for (let l = 31 - Math.clz32(size); l >= 0; l--) {
    if ((size & (1 << l)) === 0) continue;
    const at = (begin >> l) * HASH_SIZE;
    out.push((levels[l] as Uint8Array).slice(at, at + HASH_SIZE));
    begin += 1 << l;
  }
  return out;
}

/**
 * replayChunk replays one chunk (see the module comment). Entries come from `task.read` or
 * `io.readEntries`; stored nodes from `task.stored` or `io.readNodes`; index records are checked
 * through `io` when given, else returned as `indexItems` for the caller. `suite` is the log's,
 * from its pinned key (SPEC.md#crypto-suites): its hash makes every leaf, node and attachment
 * digest, and an entry whose digest is of another algorithm is invalid.
 * Requires: `start` aligned to CHUNK_SIZE, 1 <= count <= CHUNK_SIZE.
 */
export async function replayChunk(task: ChunkTask, io?: ChunkIo, secret?: Uint8Array, suite: CryptoSuite = C2SP): Promise<ChunkResult> {
  if (task.count < 1 || task.count > CHUNK_SIZE || task.start % BigInt(CHUNK_SIZE) !== 0n) throw new Error(`audit: bad math: chunk of ${task.count} at ${task.start}`);
  const H = chunkHash(suite);
  const digestAlg = suite.digestAlg;
  const read = task.read ?? (await (io as ChunkIo).readEntries(task.start, task.count));
  const count = read.lengths.length;
  const out = new Collector();
  for (const p of read.problems ?? []) out.add(p);
  const empty = { start: task.start, count, problems: out.list, unlisted: out.unlisted, suppressed: 0, topTaint: [], edge: [], snapshots: [], nodesCompared: 0, indexLookups: 0, badEntries: [] };
  if (count === 0) return { ...empty, ...(read.gap ? { gap: read.gap } : {}) };
  // Stored nodes are read while the entries are decoded and hashed.
  const storedP: Promise<ReadonlyArray<StoredNodes | undefined>> =
    task.stored !== undefined
      ? Promise.resolve(task.stored)
      : (io as ChunkIo).readChunkNodes(task.start, count);

  // Every node complete inside the chunk, level by level: the leaves, then each level from the
  // one below (RFC 9162 §2.1.1; the chunk is aligned, so these are the tree's own nodes).
  const levels: Uint8Array[] = [];
  for (let l = 0; count >> l > 0; l++) levels.push(new Uint8Array((count >> l) * HASH_SIZE));
  const leaves = levels[0] as Uint8Array;
  const digests = new Uint8Array(count * HASH_SIZE);
  const algs: Array<string | null> = new Array<string | null>(count).fill(null);
  const types: Array<string | null> = new Array<string | null>(count).fill(null);
  const data = read.data;
  let off = 0;
  for (let i = 0; i < count; i++) {
    const len = read.lengths[i] as number;
    const bytes = data.subarray(off, off + len);
    off += len;
    try {
      const entry = decodeEntry(bytes);
      if (entry.digest.alg === digestAlg) {
        hexInto(entry.digest.hex, HASH_SIZE, digests, i * HASH_SIZE);
        algs[i] = entry.digest.alg;
        types[i] = entry.type;
      } else {
        // A log refuses an entry of another suite's digest, and a verifier fails it (SPEC.md#crypto-suites).
        const index = task.start + BigInt(i);
        out.add({
          kind: 'entry-invalid',
          index,
          code: 'ENTRY_INVALID',
          message: `entry ${index} has a ${entry.digest.alg} digest: a ${suite.id} log's entries have ${digestAlg} digests`,
          expected: `digest.alg ${digestAlg}`,
          found: `digest.alg ${entry.digest.alg}`,
        });
      }
    } catch (err) {
      const index = task.start + BigInt(i);
      out.add({ kind: 'entry-invalid', index, ...describe(err), message: `entry ${index} does not decode: ${describe(err).message}` });
    }
    if (len + 1 > leafScratch.length) leafScratch = new Uint8Array(len + 1);
    leafScratch.set(bytes, 1);
    hashInto(H, leafScratch.subarray(0, len + 1), leaves, i * HASH_SIZE);
  }
  if (off !== data.length) throw new Error(`audit: bad math: chunk lengths cover ${off} of ${data.length} bytes`);
  for (let l = 1; l < levels.length; l++) {
    const below = levels[l - 1] as Uint8Array;
    const here = levels[l] as Uint8Array;
    for (let j = 0; j < here.length / HASH_SIZE; j++) {
      nodeScratch.set(below.subarray(2 * j * HASH_SIZE, (2 * j + 2) * HASH_SIZE), 1);
      hashInto(H, nodeScratch, here, j * HASH_SIZE);
    }
  }
  const snapshots: Array<{ offset: number; hashes: Uint8Array[] }> = [];
  for (const offset of task.snapshots) if (offset >= 1 && offset <= count && snapshots.at(-1)?.offset !== offset) snapshots.push({ offset, hashes: rightEdgeOf(levels, offset) });

  // Compare every level with storage; the taint flows upwards.
  const stored = await storedP;
  let nodesCompared = 0;
  let below: Set<bigint> | undefined;
  const skip = new Set<number>();
  for (let level = 0; level < levels.length; level++) {
    if (stored[level] !== undefined) nodesCompared += (levels[level] as Uint8Array).length / HASH_SIZE;
    below = compareLevel(level, task.start >> BigInt(level), levels[level] as Uint8Array, stored[level], below, out);
    if (level === 0) for (const t of below) skip.add(Number(t - task.start));
  }

  // Attachments and index records of the entries whose leaf matched storage (those that did not
  // are reported already; their side data is expected to disagree).
  if (read.attachments !== undefined) checkAttachments(task.start, read.attachments, types, algs, digests, skip, out, H);
  if (read.digestBundles !== undefined) checkDigestBundles(task.start, count, count < task.count, read.digestBundles, algs, digests, skip, out);
  for (let i = 0; i < count; i++) if (algs[i] === null) skip.add(i);
  // Entries past the indexed prefix have no run records yet: none are expected of them.
  const upTo = (to: bigint | undefined) => (to === undefined || to >= task.start + BigInt(count) ? count : to <= task.start ? 0 : Number(to - task.start));
  const indexedLeaf = upTo(task.indexedTo?.leaf);
  const indexedDigest = upTo(task.indexedTo?.digest);
  const indexed = Math.max(indexedLeaf, indexedDigest);
  const mode = task.indexMode ?? 'print';
  let items: IndexItem[] | undefined;
  if (io === undefined || mode === 'lookup') {
    items = [];
    for (let i = 0; i < indexed; i++) {
      const alg = algs[i];
      if (alg === null || alg === undefined || skip.has(i)) continue;
      items.push({ index: task.start + BigInt(i), alg, digest: digests.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE), leafHash: leaves.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE) });
    }
  }
  let indexLookups = 0;
  let prints: { digest: Uint8Array; leaf: Uint8Array } | undefined;
  if (io !== undefined && mode === 'lookup') {
    const r = await io.checkIndexes(items as IndexItem[]);
    indexLookups = r.lookups;
    for (const p of r.problems) out.add(p);
  } else if (io !== undefined) {
    if (secret === undefined || secret.length !== PRINT_SECRET_SIZE) throw new Error(`audit: bad math: index fingerprints need a ${PRINT_SECRET_SIZE}-byte secret`);
    const digestPrint = new IndexPrint(secret);
    const leafPrint = new IndexPrint(secret);
    // Run records (src/storage/run-index.ts): the first 8 bytes of the digest or leaf hash, then
    // the entry index in 5 bytes, big-endian. Indexes are below 2^40: plain numbers.
    const record = new Uint8Array(RECORD_SIZE);
    const first = Number(task.start);
    for (let i = 0; i < indexed; i++) {
      const a = algs[i];
      if (a === null || a === undefined || skip.has(i)) continue;
      const index = first + i;
      record[8] = Math.floor(index / 2 ** 32);
      record[9] = (index >>> 24) & 0xff;
      record[10] = (index >>> 16) & 0xff;
      record[11] = (index >>> 8) & 0xff;
      record[12] = index & 0xff;
      if (i < indexedDigest) {
        for (let b = 0; b < 8; b++) record[b] = digests[i * HASH_SIZE + b] as number;
        digestPrint.add(record);
      }
      if (i < indexedLeaf) {
        for (let b = 0; b < 8; b++) record[b] = leaves[i * HASH_SIZE + b] as number;
        leafPrint.add(record);
      }
    }
    prints = { digest: digestPrint.bytes(), leaf: leafPrint.bytes() };
  }
  const badEntries = [...skip].sort((a, b) => a - b).map((i) => task.start + BigInt(i));
  return {
    start: task.start,
    count,
    ...(read.gap ? { gap: read.gap } : {}),
    problems: out.list,
    unlisted: out.unlisted,
    suppressed: out.suppressed,
    ...(count === CHUNK_SIZE ? { root: (levels[CHUNK_LEVEL] as Uint8Array).slice() } : {}),
    topTaint: [...(below ?? [])],
    edge: rightEdgeOf(levels, count),
    snapshots,
    ...(io === undefined ? { indexItems: items as IndexItem[] } : {}),
    ...(prints ? { prints } : {}),
    badEntries,
    nodesCompared,
    indexLookups,
  };
}

function checkAttachments(
  start: bigint,
  attachments: ReadonlyArray<{ readonly offset: number; readonly bytes: Uint8Array }>,
  types: ReadonlyArray<string | null>,
  algs: ReadonlyArray<string | null>,
  digests: Uint8Array,
  tainted: ReadonlySet<number>,
  out: Collector,
  H: ChunkHash,
): void {
  const byOffset = new Map<number, Uint8Array>();
  for (const a of attachments) byOffset.set(a.offset, a.bytes);
  const problem = (i: number, message: string, more?: { expected: string; found: string }) => {
    const index = start + BigInt(i);
    out.add({ kind: 'attachment', index, message: `entry ${index}: ${message}`, ...more });
  };
  for (let i = 0; i < types.length; i++) {
    const type = types[i];
    if (type === null || type === undefined || tainted.has(i)) continue; // the entry itself is reported
    const att = byOffset.get(i);
    if (!ATTACHED.has(type)) {
      if (att !== undefined) problem(i, `a ${type} entry has a stored attachment (${att.length} bytes); only record and hj212 entries have one`);
      continue;
    }
    if (att === undefined) {
      problem(i, `the ${type} entry's attachment (its ${type === 'record' ? 'canonical JSON record' : 'raw packet'}) is missing`);
      continue;
    }
    // The record's canonical JSON, or the HJ 212 packet as received, hashed with the log's suite:
    // every entry here has the suite's digest algorithm (others were found invalid above).
    const got = H(att);
    if (equalAt(got, digests, i * HASH_SIZE)) continue;
    const want = toHex(digests.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
    problem(i, "the stored attachment does not hash to the entry's digest", { expected: `${algs[i]}:${want}`, found: `${algs[i]}:${toHex(got)}` });
  }
}

/** equalAt tells whether the 32-byte hash `h` equals `bytes[at, at + 32)`. */
function equalAt(h: Uint8Array, bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < HASH_SIZE; i++) if (h[i] !== bytes[at + i]) return false;
  return true;
}

/** One block's outcome: its checkpoint's size and root, or why it does not verify. */
export type BlockCheck =
  | { readonly ok: true; readonly size: bigint; readonly root: Uint8Array }
  | { readonly ok: false; readonly code?: string; readonly message: string };

/**
 * verifyBlocks checks each block on its own (parseBlock + verifyBlock: the checkpoint is signed
 * by `verifier`, size = first + count, genesis rules). Links between blocks are the engine's job.
 */
export function verifyBlocks(blocks: readonly unknown[], verifier: VerifierKey): BlockCheck[] {
  return blocks.map((json) => {
    try {
      const opened = verifyBlock(parseBlock(json), verifier);
      return { ok: true, size: opened.checkpoint.size, root: opened.checkpoint.root };
    } catch (err) {
      return { ok: false, ...describe(err) };
    }
  });
}
