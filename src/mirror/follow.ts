/**
 * Following a mirror (docs/scaling.md#restore, #read-replicas): bring a local store up to the
 * bucket's signed checkpoint, trusting nothing in the bucket but the log's signatures. A restore
 * is "follow until caught up, then stop"; a read replica follows for ever.
 *
 * One {@link Follower.step}:
 *
 * 1. reads the bucket's `checkpoint`: it must open under the log's key and seal a block (its
 *    signed block header); against the checkpoint verified last, a smaller one is a rollback and
 *    another root at the same size a fork ({@link InconsistencyError}, both notes attached);
 * 2. reads the block bundles up to that block and checks the chain (SPEC.md#block-validity:
 *    signatures, heights, prev hashes, first/count), the last block's checkpoint being the
 *    bucket's;
 * 3. reads the entry bundles from the local size on, hashes every leaf into the local tree (core's
 *    CompactRange, as the sequencer does), and at each block's end compares the root with the
 *    block's signed root: nothing is stored before a signed root covers it;
 * 4. checks every hash tile of the new size against the recomputed nodes (level 0 leaf by leaf,
 *    the upper levels against the stored nodes once they are written), and every attachment
 *    against its entry's digest;
 * 5. writes, through the store's own API, what the log itself would have written: entries, leaf
 *    hashes, every tree node, the digest and secondary indexes and attachments in batches
 *    ({@link LedgerStore.appendBatch}), then the blocks ({@link LedgerStore.appendBlock}).
 *
 * {@link Follower.syncEvidence} then re-attaches the time stamps and witness cosignature lines.
 * Anything missing or altered stops the step with an error naming the object
 * ({@link MirrorObjectError}); what was written before is verified and stays, so the step can be
 * run again. When the entries do not give a block's signed root, the bucket's own tiles decide
 * whether the checkpoint is a fork of what was verified before (a consistency proof built from
 * them fails: {@link InconsistencyError}) or the objects were altered (the entry bundle whose
 * leaves differ from its tile is named).
 */
import { blockHash, blockOfCheckpoint, parseBlock, verifyBlock, verifyBlockChain, type Block, type BlockJson } from '../core/block.js';
import { equalBytes, fromBase64, fromUtf8, toHex, utf8 } from '../core/bytes.js';
import { openCheckpoint, type OpenedCheckpoint } from '../core/checkpoint.js';
import { sha256 } from '../core/crypto.js';
import { decodeEntry, type Entry } from '../core/entry/index.js';
import { canonicalJsonText } from '../core/entry/jcs.js';
import { InconsistencyError, isLedgerError } from '../core/errors.js';
import { CompactRange, rightEdge } from '../core/merkle/compact.js';
import type { TreeHasher } from '../core/merkle/hash.js';
import type { NodeHash, NodeId } from '../core/merkle/node.js';
import { buildProof, planConsistency } from '../core/merkle/plan.js';
import { verifyConsistency } from '../core/merkle/verify.js';
import { parseVerifierKey, signatureLineKeyId, type VerifierKey } from '../core/note.js';
import { suiteOfKey, type CryptoSuite } from '../core/suite.js';
import { planTile, tileWidth, TILE_HEIGHT, TILE_WIDTH, type Tile } from '../core/tiles.js';
import type { COSIGNATURE_EVIDENCE as COSIGNATURES } from '../log/cosignatures.js';
import type { TSA_EVIDENCE as STAMPS } from '../log/stamps.js';
import type { AppendBatch, LedgerStore } from '../storage/store.js';
import { attachmentBundleKey, blockBundleKey, blockGroupsBetween, tileKey, tilesBetween, type BlockGroup } from './layout.js';
import { BucketReader, MirrorObjectError } from './read.js';

// The store's evidence kinds (src/log/stamps.ts, src/log/cosignatures.ts), named here as in
// evidence.ts: the mirror knows the log by its types only, which make a renamed kind an error.
const TSA_EVIDENCE: typeof STAMPS = 'tsa';
const COSIGNATURE_EVIDENCE: typeof COSIGNATURES = 'cosig';

/** Entry types stored with an attachment (src/log/ledger.ts): the record's canonical JSON, the raw HJ 212 packet. */
const ATTACHED = new Set(['record', 'hj212']);

/** A time stamp read from the bucket, for {@link FollowOptions.checkStamp}. */
export interface StampToCheck {
  readonly height: bigint;
  /** The stamped checkpoint note: block `height`'s, exactly as the log signed it. */
  readonly checkpoint: string;
  /** The TSA it came from (informative). */
  readonly tsa: string;
  /** The DER TimeStampToken. */
  readonly token: Uint8Array;
  readonly suite: CryptoSuite;
}

/** What a commit made durable: for a replica's ledger to adopt. */
export interface Commit {
  /** The store's size after it. */
  readonly size: bigint;
  /** The blocks it stored, in order. */
  readonly blocks: readonly Block[];
}

/** Progress of a step, after each commit. */
export interface FollowProgress {
  /** Entries stored (the local size) and the size the step goes to. */
  readonly size: bigint;
  readonly target: bigint;
  /** The local size when the step began. */
  readonly from: bigint;
  readonly blocks: bigint;
  readonly targetBlocks: bigint;
}

export interface FollowOptions {
  readonly store: LedgerStore;
  readonly reader: BucketReader;
  /** The log's verifier key: the only thing trusted. */
  readonly verifier: string | VerifierKey;
  /**
   * The secondary index keys the log lists an entry under (src/log/ledger.ts `secondaryKeysOf`):
   * passed in, since the mirror knows the log by its types only.
   */
  readonly secondaryKeysOf: (entry: Entry) => ReadonlyArray<{ readonly name: string; readonly key: string }>;
  /** `require` (default): a record or HJ 212 entry's attachment must be in the bucket; `skip`: store entries without. */
  readonly attachments?: 'require' | 'skip';
  /** Entry groups read at once, three objects each (default 16). */
  readonly concurrency?: number;
  /** Entries per store batch, at least (default 16,384; a batch ends at a block's end). */
  readonly commitEntries?: number;
  /** Checks a time stamp before it is stored (e.g. against pinned TSA roots); throws to refuse it. */
  readonly checkStamp?: (stamp: StampToCheck) => Promise<void>;
  /** Called after each commit (a replica's ledger adopts the blocks); awaited. */
  readonly onCommit?: (commit: Commit) => Promise<void> | void;
  readonly onProgress?: (progress: FollowProgress) => void;
}

/** What one step did. */
export interface StepResult {
  /** The bucket's checkpoint: its size and note. */
  readonly bucket: { readonly size: bigint; readonly note: string };
  /** The local size before and after. */
  readonly from: bigint;
  readonly to: bigint;
  /** Blocks stored. */
  readonly blocks: bigint;
  /** Attachments stored. */
  readonly attachments: number;
}

/** The checkpoint the local store holds, verified: the last stored block's. */
interface Verified {
  readonly size: bigint;
  readonly root: Uint8Array;
  readonly note: string;
  readonly block: Block;
  /** Blocks stored (the next height). */
  readonly blocks: bigint;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One entry group read from the bucket: entries, their level-0 tile, attachments. */
interface GroupRead {
  readonly tile: Tile & { kind: 'entries' };
  readonly entries: Uint8Array[];
  readonly decoded: Entry[];
  readonly leafTile: Uint8Array[];
  readonly attachments: Array<Uint8Array | undefined> | undefined;
}

/** A block read from the bucket and verified in its chain, with its checkpoint's root. */
interface ChainBlock {
  readonly json: BlockJson;
  readonly block: Block;
  readonly root: Uint8Array;
}

/** Blocks of the bucket, in order, a bundle at a time (the next one already on its way). */
class BlockSource {
  readonly #groups: BlockGroup[];
  #at = 0;
  #buffer: ChainBlock[] = [];
  #next: Promise<ChainBlock[]> | undefined;
  #previous: Block | undefined;

  constructor(
    readonly reader: BucketReader,
    readonly verifier: VerifierKey,
    readonly store: LedgerStore,
    readonly from: bigint,
    to: bigint,
    previous: Block | undefined,
  ) {
    this.#groups = [...blockGroupsBetween(from, to)];
    this.#previous = previous;
  }

  /** peek returns the next block (loading its bundle when needed), or undefined after the last. */
  async peek(): Promise<ChainBlock | undefined> {
    while (this.#buffer.length === 0) {
      if (this.#at >= this.#groups.length) return undefined;
      this.#next ??= this.#load(this.#at);
      this.#buffer = await this.#next;
      this.#next = undefined;
      this.#at++;
      // The next bundle's GET starts while this one's blocks are used.
      if (this.#at < this.#groups.length) {
        this.#next = this.#load(this.#at);
        this.#next.catch(() => undefined);
      }
    }
    return this.#buffer[0];
  }

  /** current returns the buffered next block without I/O (undefined: call peek). */
  get current(): ChainBlock | undefined {
    return this.#buffer[0];
  }

  shift(): void {
    this.#buffer.shift();
  }

  async #load(i: number): Promise<ChainBlock[]> {
    const group = this.#groups[i] as BlockGroup;
    const key = blockBundleKey(this.reader.prefix, group);
    const jsons = await this.reader.blockBundle(group, key);
    const start = group.index * BigInt(TILE_WIDTH);
    // A partial group already begun locally: the stored blocks must be the bundle's first ones.
    const have = this.from > start ? Number(this.from - start) : 0;
    if (have > 0) {
      const stored = await this.store.getBlocks(start, have);
      for (let k = 0; k < have; k++) {
        if (stored[k] === undefined || canonicalJsonText(stored[k] as BlockJson, 'block') !== canonicalJsonText(jsons[k] as BlockJson, 'block')) {
          throw new MirrorObjectError('MIRROR_OBJECT_INVALID', key, `mirror: block bundle ${key} holds a block ${start + BigInt(k)} other than the one verified and stored before: altered, or the bucket now holds another log`);
        }
      }
    }
    const fresh = jsons.slice(have);
    let blocks: Block[];
    let roots: Uint8Array[];
    try {
      blocks = fresh.map((j) => parseBlock(j));
      roots = blocks.length === 0 ? [] : verifyBlockChain(blocks, this.verifier, this.#previous === undefined ? {} : { previous: this.#previous }).checkpoints.map((c) => c.checkpoint.root);
    } catch (err) {
      throw new MirrorObjectError('MIRROR_OBJECT_INVALID', key, `mirror: block bundle ${key} does not verify: ${isLedgerError(err) ? `${err.code}: ` : ''}${message(err)}`, { cause: err });
    }
    if (blocks.length > 0) this.#previous = blocks[blocks.length - 1];
    return fresh.map((json, k) => ({ json, block: blocks[k] as Block, root: roots[k] as Uint8Array }));
  }
}

/** Runs `f` over `n` items with at most `limit` in flight, handing results back in order. */
class Window<T> {
  readonly #made: Array<Promise<T> | undefined> = [];
  #issued = 0;
  constructor(
    readonly n: number,
    readonly limit: number,
    readonly make: (i: number) => Promise<T>,
  ) {}

  /** take returns item i's result; items up to i + limit - 1 are started. Requires: i in order. */
  async take(i: number): Promise<T> {
    while (this.#issued < this.n && this.#issued < i + this.limit) {
      const p = this.make(this.#issued);
      p.catch(() => undefined);
      this.#made[this.#issued++] = p;
    }
    const p = this.#made[i] as Promise<T>;
    this.#made[i] = undefined;
    return p;
  }
}

/**
 * nodesFromTiles reads tree nodes out of the bucket's hash tiles of the tree of `size` leaves
 * (a node at level 8·L + r is its 2^r descendants in tile level L, hashed up r levels), as Go's
 * tlog TileHashReader does. Requires: each node complete at `size`.
 */
async function nodesFromTiles(reader: BucketReader, ids: readonly NodeId[], size: bigint, tree: TreeHasher): Promise<Uint8Array[]> {
  const tiles = new Map<string, Promise<Uint8Array[]>>();
  return Promise.all(
    ids.map(async (id) => {
      const level = Math.floor(id.level / TILE_HEIGHT);
      const r = id.level % TILE_HEIGHT;
      const lo = id.index << BigInt(r);
      const hi = (id.index + 1n) << BigInt(r);
      const n = lo / BigInt(TILE_WIDTH);
      const width = tileWidth(level, n, size);
      if (hi > n * BigInt(TILE_WIDTH) + BigInt(width)) throw new Error(`mirror: bad math: node ${id.level}/${id.index} is not complete at size ${size}`);
      const name = `${level}/${n}/${width}`;
      let tile = tiles.get(name);
      if (tile === undefined) tiles.set(name, (tile = reader.hashTile({ kind: 'hash', level, index: n, width })));
      let hashes = (await tile).slice(Number(lo - n * BigInt(TILE_WIDTH)), Number(hi - n * BigInt(TILE_WIDTH)));
      while (hashes.length > 1) {
        const up: Uint8Array[] = [];
        for (let k = 0; k < hashes.length; k += 2) up.push(tree.hashChildren(hashes[k] as Uint8Array, hashes[k + 1] as Uint8Array));
        hashes = up;
      }
      return hashes[0] as Uint8Array;
    }),
  );
}

/** The stored tokens' JSON (src/log/stamps.ts): `{"tsa": URL, "token": base64 DER}`. */
function parseStoredToken(bytes: Uint8Array): { tsa: string; token: Uint8Array } {
  const v: unknown = JSON.parse(fromUtf8(bytes, 'time stamp'));
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('want {"tsa": …, "token": …}');
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort().join(',');
  if (keys !== 'token,tsa' || typeof o.tsa !== 'string' || o.tsa.length > 2048 || typeof o.token !== 'string' || o.token.length < 4 || o.token.length > 350_000) {
    throw new Error('want exactly {"tsa": a URL, "token": base64}');
  }
  return { tsa: o.tsa, token: fromBase64(o.token, undefined, 'token') };
}

/** Brings a local store up to a mirror's signed checkpoint (see the module comment). */
export class Follower {
  readonly #o: FollowOptions;
  readonly #verifier: VerifierKey;
  readonly #suite: CryptoSuite;
  #range: CompactRange;
  #verified: Verified | undefined;
  /** Evidence objects already stored (key → nothing), for the replica's repeated scans. */
  readonly #knownEvidence = new Set<string>();

  private constructor(o: FollowOptions, verifier: VerifierKey, range: CompactRange, verified: Verified | undefined) {
    this.#o = o;
    this.#verifier = verifier;
    this.#suite = suiteOfKey(verifier);
    this.#range = range;
    this.#verified = verified;
  }

  /**
   * open reads the local store's state: its size and right edge, and its last block, which must
   * verify under the log's key and seal exactly the stored entries (what a restore or replica
   * writes). Throws for a store holding anything else.
   */
  static async open(o: FollowOptions): Promise<Follower> {
    const verifier = typeof o.verifier === 'string' ? parseVerifierKey(o.verifier) : o.verifier;
    const tree = suiteOfKey(verifier).tree;
    const size = await o.store.getSize();
    const range = CompactRange.fromRightEdge(size, await o.store.readNodes(rightEdge(size)), tree);
    const count = await o.store.getBlockCount();
    if (count === 0n) {
      if (size > 0n) throw new Error(`mirror: the local store holds ${size} entries and no block: not one a restore or replica wrote`);
      return new Follower(o, verifier, range, undefined);
    }
    const json = await o.store.getBlock(count - 1n);
    if (json === undefined) throw new Error(`mirror: the local store's block ${count - 1n} is missing`);
    const block = parseBlock(json);
    const opened = verifyBlock(block, verifier);
    const cp = opened.checkpoint;
    if (cp.size !== size || !equalBytes(cp.root, range.root())) {
      throw new Error(`mirror: the local store's last block (height ${block.height}, size ${cp.size}) does not seal its ${size} entries: not one a restore or replica wrote`);
    }
    return new Follower(o, verifier, range, { size, root: cp.root, note: block.checkpoint, block, blocks: count });
  }

  /** The checkpoint the local store holds (verified), if any. */
  get verified(): { readonly size: bigint; readonly note: string; readonly blocks: bigint } | undefined {
    const v = this.#verified;
    return v === undefined ? undefined : { size: v.size, note: v.note, blocks: v.blocks };
  }

  /** readCheckpoint reads and opens the bucket's checkpoint, and the block it seals. */
  async readCheckpoint(): Promise<{ opened: OpenedCheckpoint; head: Block }> {
    const reader = this.#o.reader;
    const key = reader.checkpointKey;
    const raw = await reader.checkpoint();
    if (raw === undefined) throw new MirrorObjectError('MIRROR_OBJECT_MISSING', key, `mirror: there is no checkpoint at ${reader.where}: no log was mirrored there (or it was deleted)`);
    let opened: OpenedCheckpoint;
    try {
      opened = openCheckpoint(raw, this.#verifier);
    } catch (err) {
      throw new MirrorObjectError('MIRROR_OBJECT_INVALID', key, `mirror: the checkpoint ${key} does not verify with the log key ${this.#verifier.text} (${isLedgerError(err) ? `${err.code}: ` : ''}${message(err)}): the wrong key, another log, or an altered checkpoint`, { cause: err });
    }
    let head: Block;
    try {
      head = blockOfCheckpoint(opened.note);
      verifyBlock(head, this.#verifier);
    } catch (err) {
      throw new MirrorObjectError('MIRROR_OBJECT_INVALID', key, `mirror: the checkpoint ${key} seals no block (${message(err)}): only checkpoints with a signed block header (SPEC.md#signed-block-header) can be followed`, { cause: err });
    }
    return { opened, head };
  }

  /**
   * step brings the local store up to the bucket's checkpoint as it is now (see the module
   * comment). Throws {@link InconsistencyError} for a rollback or fork (both notes attached),
   * {@link MirrorObjectError} naming a missing or altered object, the store's errors.
   */
  async step(): Promise<StepResult> {
    const { opened, head } = await this.readCheckpoint();
    const cp = opened.checkpoint;
    const bucket = { size: cp.size, note: opened.note };
    const v = this.#verified;
    const from = this.#range.size;
    if (v !== undefined) {
      if (cp.size < v.size) {
        throw new InconsistencyError(opened.note, v.note, [], `mirror: the bucket's checkpoint went back from ${v.size} entries (verified) to ${cp.size}: a rollback, or another log's bucket; stopped`);
      }
      if (cp.size === v.size) {
        if (!equalBytes(cp.root, v.root) || head.height !== v.block.height || !equalBytes(blockHash(head, this.#suite), blockHash(v.block, this.#suite))) {
          throw new InconsistencyError(v.note, opened.note, [], `mirror: the bucket's checkpoint of ${cp.size} entries is not the one verified at that size (root ${toHex(cp.root)}, verified ${toHex(v.root)}): a fork; stopped`);
        }
        return { bucket, from, to: from, blocks: 0n, attachments: 0 };
      }
    }
    if (v === undefined && from !== 0n) throw new Error('mirror: bad math: entries without a block');
    const done = await this.#apply(opened, head);
    return { bucket, from, to: this.#range.size, ...done };
  }

  async #apply(opened: OpenedCheckpoint, head: Block): Promise<{ blocks: bigint; attachments: number }> {
    const o = this.#o;
    const { store, reader } = o;
    const tree = this.#suite.tree;
    const target = opened.checkpoint.size;
    const start = this.#range.size;
    const v = this.#verified;
    const storedBlocks = v?.blocks ?? 0n;
    const targetBlocks = head.height + 1n;
    if (targetBlocks <= storedBlocks) {
      throw new InconsistencyError(v?.note ?? '', opened.note, [], `mirror: the bucket's checkpoint covers more entries (${target}) with block ${head.height}, not after the verified block ${storedBlocks - 1n}: a fork; stopped`);
    }
    const blocks = new BlockSource(reader, this.#verifier, store, storedBlocks, targetBlocks, v?.block);
    const concurrency = Math.max(1, o.concurrency ?? 16);
    const commitEntries = o.commitEntries ?? 16_384;
    const attachmentsMode = o.attachments ?? 'require';

    // The entry groups the new size has from the local size on, each with its level-0 tile.
    const groups = [...tilesBetween(start, target, true)].filter((t): t is Tile & { kind: 'entries' } => t.kind === 'entries');
    // The upper hash tiles: checked against the stored nodes once the store holds what they cover.
    const upper = [...tilesBetween(start, target, false)].filter((t): t is Tile & { kind: 'hash' } => t.kind === 'hash' && t.level > 0);
    upper.sort((a, b) => (leafEnd(a) < leafEnd(b) ? -1 : leafEnd(a) > leafEnd(b) ? 1 : 0));
    let upperAt = 0;

    const window = new Window<GroupRead>(groups.length, concurrency, (i) => this.#readGroup(groups[i] as Tile & { kind: 'entries' }, attachmentsMode));

    // What is hashed but not yet stored.
    let entries: Uint8Array[] = [];
    let leafHashes: Uint8Array[] = [];
    let nodes: NodeHash[] = [];
    /** nodes.length after each pending entry. */
    let nodeEnds: number[] = [];
    let digests: Array<{ alg: string; hex: string; index: bigint }> = [];
    let attachments: Array<{ index: bigint; bytes: Uint8Array }> = [];
    let secondary: Array<{ name: string; key: string; index: bigint }> = [];
    const pendingBlocks: ChainBlock[] = [];
    /** Groups whose leaves differ from their level-0 tile (the tile or the bundle is altered): index → first leaf. */
    const leafMismatch = new Map<number, bigint>();
    let committed = start;
    let verifiedTo = start;
    let storedCount = storedBlocks;
    let attachmentCount = 0;
    let last: Verified | undefined = v;

    const commit = async (upTo: bigint): Promise<void> => {
      const k = Number(upTo - committed);
      if (k > 0) {
        const nodeEnd = nodeEnds[k - 1] as number;
        const split = <T extends { index: bigint }>(xs: T[]): [T[], T[]] => {
          let j = 0;
          while (j < xs.length && (xs[j] as T).index < upTo) j++;
          return [xs.slice(0, j), xs.slice(j)];
        };
        const [d, dRest] = split(digests);
        const [a, aRest] = split(attachments);
        const [s, sRest] = split(secondary);
        const batch: AppendBatch = { first: committed, entries: entries.slice(0, k), leafHashes: leafHashes.slice(0, k), nodes: nodes.slice(0, nodeEnd), digests: d, attachments: a, secondary: s };
        await store.appendBatch(batch);
        attachmentCount += a.length;
        entries = entries.slice(k);
        leafHashes = leafHashes.slice(k);
        nodes = nodes.slice(nodeEnd);
        nodeEnds = nodeEnds.slice(k).map((e) => e - nodeEnd);
        digests = dRest;
        attachments = aRest;
        secondary = sRest;
        committed = upTo;
      }
      const made: Block[] = [];
      while (pendingBlocks.length > 0) {
        const b = pendingBlocks[0] as ChainBlock;
        if (b.block.first + b.block.count > committed) break;
        await store.appendBlock(b.json);
        pendingBlocks.shift();
        made.push(b.block);
        storedCount++;
        last = { size: b.block.first + b.block.count, root: b.root, note: b.block.checkpoint, block: b.block, blocks: storedCount };
      }
      if (last !== undefined) this.#verified = last;
      // Tiles whose leaves are all stored: level 0 agreed with the entries, or is altered;
      // the upper ones must equal the stored nodes.
      for (const [g, leaf] of leafMismatch) {
        const t = groups[g] as Tile & { kind: 'entries' };
        if (leaf < committed) {
          const key = tileKey(reader.prefix, { kind: 'hash', level: 0, index: t.index, width: t.width });
          throw new MirrorObjectError('MIRROR_OBJECT_INVALID', key, `mirror: hash tile ${key} is altered: its hash of leaf ${leaf} differs from the leaf hash of entry ${leaf}, which a signed checkpoint covers`);
        }
      }
      const due: Array<Tile & { kind: 'hash' }> = [];
      while (upperAt < upper.length && leafEnd(upper[upperAt] as Tile) <= committed) due.push(upper[upperAt++] as Tile & { kind: 'hash' });
      await Promise.all(due.map((t) => this.#checkUpperTile(t)));
      await o.onCommit?.({ size: committed, blocks: made });
      o.onProgress?.({ size: committed, target, from: start, blocks: storedCount, targetBlocks });
    };

    /** atBoundary: the range ends where the next block ends: check its signed root, queue it. */
    const atBoundaries = async (): Promise<void> => {
      for (;;) {
        const next = blocks.current ?? (await blocks.peek());
        if (next === undefined) return;
        const end = next.block.first + next.block.count;
        if (end > this.#range.size) return;
        if (end < this.#range.size) throw new Error(`mirror: bad math: block ${next.block.height} ends at ${end}, passed`);
        if (!equalBytes(next.root, this.#range.root())) await this.#diagnose(next.block, next.root, groups, leafMismatch, opened, v);
        pendingBlocks.push(next);
        blocks.shift();
        verifiedTo = end;
        // A leaf the signed root vouches for differs from its tile: the tile is altered (commit
        // what is verified, then say so).
        for (const leaf of leafMismatch.values()) if (leaf < end) await commit(end);
      }
    };

    await atBoundaries();
    for (let g = 0; g < groups.length; g++) {
      const read = await window.take(g);
      const t = read.tile;
      const base = t.index * BigInt(TILE_WIDTH);
      const skip = start > base ? Number(start - base) : 0;
      if (skip > 0) await this.#checkHead(read, skip);
      for (let i = skip; i < read.entries.length; i++) {
        const data = read.entries[i] as Uint8Array;
        const entry = read.decoded[i] as Entry;
        const leaf = tree.hashLeaf(data);
        if (!equalBytes(leaf, read.leafTile[i] as Uint8Array) && !leafMismatch.has(g)) leafMismatch.set(g, base + BigInt(i));
        const index = this.#range.appendTo(leaf, nodes);
        entries.push(data);
        leafHashes.push(leaf);
        nodeEnds.push(nodes.length);
        digests.push({ alg: entry.digest.alg, hex: entry.digest.hex, index });
        const att = read.attachments?.[i];
        if (att !== undefined) attachments.push({ index, bytes: att });
        for (const x of o.secondaryKeysOf(entry)) secondary.push({ name: x.name, key: x.key, index });
        const next = blocks.current;
        if (next === undefined || next.block.first + next.block.count === this.#range.size) await atBoundaries();
      }
      if (this.#range.size - committed >= BigInt(commitEntries) && verifiedTo > committed) await commit(verifiedTo);
    }
    await atBoundaries();
    if (blocks.current !== undefined || (await blocks.peek()) !== undefined) {
      const b = (blocks.current as { block: Block }).block;
      throw new MirrorObjectError('MIRROR_OBJECT_INVALID', blockBundleKey(reader.prefix, { index: b.height / BigInt(TILE_WIDTH), width: Number((targetBlocks - 1n) % BigInt(TILE_WIDTH)) + 1 }), `mirror: block ${b.height} ends at ${b.first + b.count}, beyond the bucket's checkpoint of ${target} entries`);
    }
    if (verifiedTo !== target) throw new MirrorObjectError('MIRROR_OBJECT_INVALID', reader.checkpointKey, `mirror: the blocks end at ${verifiedTo} entries, the bucket's checkpoint covers ${target}`);
    const lastBlock = pendingBlocks[pendingBlocks.length - 1]?.block ?? last?.block;
    if (lastBlock === undefined || !equalBytes(blockHash(lastBlock, this.#suite), blockHash(head, this.#suite)) || lastBlock.height !== head.height) {
      throw new MirrorObjectError('MIRROR_OBJECT_INVALID', reader.checkpointKey, `mirror: the block bundles end at another block than the one the bucket's checkpoint seals (height ${head.height})`);
    }
    await commit(verifiedTo);
    return { blocks: storedCount - storedBlocks, attachments: attachmentCount };
  }

  /**
   * #readGroup reads an entry bundle, its level-0 tile and its attachments (all three at once: the
   * attachment bundle's GET, absent for most groups without records, costs no round trip more),
   * and decodes the entries.
   */
  async #readGroup(tile: Tile & { kind: 'entries' }, mode: 'require' | 'skip'): Promise<GroupRead> {
    const reader = this.#o.reader;
    const key = tileKey(reader.prefix, tile);
    const [entries, leafTile, found] = await Promise.all([
      reader.entryBundle(tile),
      reader.hashTile({ kind: 'hash', level: 0, index: tile.index, width: tile.width }),
      mode === 'skip' ? Promise.resolve(undefined) : reader.attachmentBundle(tile),
    ]);
    const base = tile.index * BigInt(TILE_WIDTH);
    const decoded = entries.map((e, i) => {
      try {
        return decodeEntry(e);
      } catch (err) {
        throw new MirrorObjectError('MIRROR_OBJECT_INVALID', key, `mirror: entry bundle ${key} is damaged: entry ${base + BigInt(i)} does not decode (${message(err)})`, { cause: err });
      }
    });
    const need = decoded.some((e) => ATTACHED.has(e.type));
    if (mode === 'skip') return { tile, entries, decoded, leafTile, attachments: undefined };
    if (!need) {
      if (found !== undefined) throw new MirrorObjectError('MIRROR_OBJECT_INVALID', attachmentBundleKey(reader.prefix, tile), `mirror: attachment bundle ${attachmentBundleKey(reader.prefix, tile)} exists for entries none of which has an attachment`);
      return { tile, entries, decoded, leafTile, attachments: undefined };
    }
    const akey = attachmentBundleKey(reader.prefix, tile);
    const attachments = found;
    if (attachments === undefined) throw new MirrorObjectError('MIRROR_OBJECT_MISSING', akey, `mirror: attachment bundle ${akey} is missing from the bucket (deleted, or mirrored before attachments were; "guzheng restore --without-attachments" restores the entries without them)`);
    decoded.forEach((e, i) => {
      const a = attachments[i];
      const index = base + BigInt(i);
      if (!ATTACHED.has(e.type)) {
        if (a !== undefined) throw new MirrorObjectError('MIRROR_OBJECT_INVALID', akey, `mirror: attachment bundle ${akey} holds an attachment for the ${e.type} entry ${index}, which has none`);
        return;
      }
      if (a === undefined) throw new MirrorObjectError('MIRROR_OBJECT_INVALID', akey, `mirror: attachment bundle ${akey} lacks the attachment of the ${e.type} entry ${index}`);
      if (e.digest.alg !== this.#suite.digestAlg || toHex(this.#suite.hash(a)) !== e.digest.hex) {
        throw new MirrorObjectError('MIRROR_OBJECT_INVALID', akey, `mirror: attachment bundle ${akey} is altered: the attachment of entry ${index} does not hash to its digest ${e.digest.alg}:${e.digest.hex}`);
      }
    });
    return { tile, entries, decoded, leafTile, attachments };
  }

  /** #checkHead: a group begun locally: the bundle's first entries and tile hashes must be the stored ones. */
  async #checkHead(read: GroupRead, skip: number): Promise<void> {
    const reader = this.#o.reader;
    const base = read.tile.index * BigInt(TILE_WIDTH);
    const stored = await this.#o.store.getEntries(base, skip);
    for (let i = 0; i < skip; i++) {
      const key = tileKey(reader.prefix, read.tile);
      if (stored[i] === undefined || !equalBytes(stored[i] as Uint8Array, read.entries[i] as Uint8Array)) {
        throw new MirrorObjectError('MIRROR_OBJECT_INVALID', key, `mirror: entry bundle ${key} holds an entry ${base + BigInt(i)} other than the one verified and stored before: altered, or the bucket now holds another log`);
      }
      if (!equalBytes(this.#suite.tree.hashLeaf(stored[i] as Uint8Array), read.leafTile[i] as Uint8Array)) {
        const tkey = tileKey(reader.prefix, { kind: 'hash', level: 0, index: read.tile.index, width: read.tile.width });
        throw new MirrorObjectError('MIRROR_OBJECT_INVALID', tkey, `mirror: hash tile ${tkey} is altered: its hash of leaf ${base + BigInt(i)} is not the verified entry's`);
      }
    }
  }

  /** #checkUpperTile compares a hash tile above level 0 with the stored nodes it holds. */
  async #checkUpperTile(t: Tile & { kind: 'hash' }): Promise<void> {
    const reader = this.#o.reader;
    const [got, want] = await Promise.all([reader.hashTile(t), this.#o.store.readNodes(planTile(t.level, t.index, t.width))]);
    for (let i = 0; i < t.width; i++) {
      if (!equalBytes(got[i] as Uint8Array, want[i] as Uint8Array)) {
        const key = tileKey(reader.prefix, t);
        throw new MirrorObjectError('MIRROR_OBJECT_INVALID', key, `mirror: hash tile ${key} is altered: its hash ${i} (node ${TILE_HEIGHT * t.level}/${t.index * BigInt(TILE_WIDTH) + BigInt(i)}) differs from the tree the signed checkpoint's entries give`);
      }
    }
  }

  /**
   * #diagnose: the entries read do not give `block`'s signed root. Names an entry bundle whose
   * leaves differ from its tile (altered); else asks the bucket's tiles whether the checkpoint is
   * consistent with the one verified before (a fork when not); throws in every case.
   */
  async #diagnose(
    block: Block,
    root: Uint8Array,
    groups: ReadonlyArray<Tile & { kind: 'entries' }>,
    leafMismatch: ReadonlyMap<number, bigint>,
    opened: OpenedCheckpoint,
    v: Verified | undefined,
  ): Promise<never> {
    const reader = this.#o.reader;
    const size = block.first + block.count;
    const [g, leaf] = [...leafMismatch].sort((a, b) => a[0] - b[0])[0] ?? [];
    if (g !== undefined && leaf !== undefined) {
      const key = tileKey(reader.prefix, groups[g] as Tile);
      throw new MirrorObjectError('MIRROR_OBJECT_INVALID', key, `mirror: entry bundle ${key} is altered: its entries do not give the signed root of block ${block.height} (size ${size}), and entry ${leaf}'s leaf hash differs from the hash tile's`);
    }
    if (v !== undefined && v.size > 0n) {
      const tree = this.#suite.tree;
      const plan = planConsistency(v.size, size);
      let proof: Uint8Array[] | undefined;
      try {
        proof = buildProof(plan, await nodesFromTiles(reader, plan.ids, opened.checkpoint.size, tree), tree);
      } catch {
        proof = undefined;
      }
      if (proof !== undefined) {
        try {
          verifyConsistency(v.size, size, proof, v.root, root, tree);
        } catch {
          throw new InconsistencyError(v.note, block.checkpoint, proof.map(toHex), `mirror: the bucket's block ${block.height} (size ${size}) is not consistent with the checkpoint verified before (size ${v.size}), by the bucket's own tiles: a fork; stopped`);
        }
      }
    }
    throw new MirrorObjectError(
      'MIRROR_OBJECT_INVALID',
      reader.checkpointKey,
      `mirror: the entries of the bucket up to ${size} do not give the signed root of block ${block.height}, though its entry bundles and hash tiles agree: both altered alike, or the bucket holds another tree under this key`,
    );
  }

  /**
   * syncEvidence stores the time stamps and cosignature lines in the bucket for the stored blocks
   * at heights >= `from` (all of them when `from` is undefined: a restore), checking each: a time
   * stamp's JSON and `checkStamp`; a cosignature line's name (its SHA-256) and shape (one note
   * signature line). Evidence of blocks not yet stored waits for them. Returns what it stored.
   */
  async syncEvidence(from?: bigint): Promise<{ stamps: number; cosignatures: number; stray: string[] }> {
    const v = this.#verified;
    if (v === undefined) return { stamps: 0, cosignatures: 0, stray: [] };
    const { store, reader } = this.#o;
    const lo = from ?? 0n;
    const to = from === undefined ? undefined : v.blocks;
    const known = this.#knownEvidence;
    let stamps = 0;
    let cosignatures = 0;

    const tsa = await reader.evidence('tsa', lo, to);
    // A stamp object is written once per block (the log keeps one per block): one already stored
    // for a height is that object, and is not read again.
    const stamped = new Set<bigint>();
    for (let next = lo; ; ) {
      const rows = await store.listEvidence(TSA_EVIDENCE, next, 4096);
      for (const r of rows) stamped.add(r.height);
      if (rows.length < 4096) break;
      next = (rows[rows.length - 1] as { height: bigint }).height + 1n;
    }
    for (const item of tsa.items) {
      if (item.height >= v.blocks || known.has(item.key)) continue;
      if (stamped.has(item.height)) {
        known.add(item.key);
        continue;
      }
      const bytes = await reader.object(item.key);
      if (bytes === undefined) continue; // listed, then deleted: the next scan tells
      const json = await store.getBlock(item.height);
      if (json === undefined) throw new Error(`mirror: block ${item.height} missing from the local store`);
      let token: { tsa: string; token: Uint8Array };
      try {
        token = parseStoredToken(bytes);
        await this.#o.checkStamp?.({ height: item.height, checkpoint: json.checkpoint, tsa: token.tsa, token: token.token, suite: this.#suite });
      } catch (err) {
        throw new MirrorObjectError('MIRROR_OBJECT_INVALID', item.key, `mirror: time stamp ${item.key} does not hold for block ${item.height}: ${isLedgerError(err) ? `${err.code}: ` : ''}${message(err)}`, { cause: err });
      }
      await store.putEvidence(TSA_EVIDENCE, item.height, bytes);
      known.add(item.key);
      stamps++;
    }

    const cos = await reader.evidence('cosignatures', lo, to);
    const byHeight = new Map<bigint, Array<{ key: string; digest: string }>>();
    for (const item of cos.items) {
      if (item.height >= v.blocks || known.has(item.key) || item.digest === undefined) continue;
      let list = byHeight.get(item.height);
      if (list === undefined) byHeight.set(item.height, (list = []));
      list.push({ key: item.key, digest: item.digest });
    }
    for (const [height, items] of byHeight) {
      const [row] = await store.listEvidence(COSIGNATURE_EVIDENCE, height, 1);
      const have: string[] = row !== undefined && row.height === height ? (JSON.parse(fromUtf8(row.value, `cosignatures of block ${height}`)) as string[]) : [];
      const haveDigests = new Set(have.map((l) => toHex(sha256(utf8(l)))));
      const fresh: string[] = [];
      for (const item of items) {
        if (haveDigests.has(item.digest)) {
          known.add(item.key);
          continue;
        }
        const bytes = await reader.object(item.key);
        if (bytes === undefined) continue;
        let line: string;
        try {
          const text = fromUtf8(bytes, 'cosignature line');
          line = text.slice(0, -1);
          if (!text.endsWith('\n') || line.includes('\n')) throw new Error('want one line ending in a newline');
          if (toHex(sha256(utf8(line))) !== item.digest) throw new Error('its SHA-256 is not the one in its name');
          if (signatureLineKeyId(line) === undefined) throw new Error('not a note signature line (— name base64)');
        } catch (err) {
          throw new MirrorObjectError('MIRROR_OBJECT_INVALID', item.key, `mirror: cosignature line ${item.key} is damaged: ${message(err)}`, { cause: err });
        }
        fresh.push(line);
        haveDigests.add(item.digest);
      }
      if (fresh.length > 0) {
        await store.putEvidence(COSIGNATURE_EVIDENCE, height, utf8(JSON.stringify([...have, ...fresh])));
        cosignatures += fresh.length;
      }
      for (const item of items) known.add(item.key);
    }
    if (known.size > 200_000) known.clear();
    return { stamps, cosignatures, stray: [...tsa.stray, ...cos.stray] };
  }
}

/** leafEnd: the first leaf after those a tile covers. */
function leafEnd(t: Tile): bigint {
  const shift = BigInt(t.kind === 'hash' ? TILE_HEIGHT * t.level : 0);
  return (t.index * BigInt(TILE_WIDTH) + BigInt(t.width)) << shift;
}

