/**
 * Audit source over the mirror's bucket (docs/scaling.md#layout, docs/audit.md#auditing-a-mirror):
 * the log replayed from genesis out of the objects the mirror wrote, with no service to ask.
 *
 * - `checkpoint`, verified with the pinned key: the size to replay, the root to reach, and (its
 *   signed block header) how many blocks there are;
 * - `tile/entries/<N>[.p/<W>]` and `tile/<L>/<N>[.p/<W>]` (C2SP tlog-tiles): the entries and the
 *   hashes at levels 0, 8, 16, … (tiled.ts, as for the service);
 * - `guzheng/attachments/<N>[.p/<W>]`: the records' canonical JSON and HJ 212 packets of the
 *   entries of bundle N, checked against their entries' digests (as a local audit does);
 * - `guzheng/blocks/<N>[.p/<W>]`: the block chain, 256 canonical JSON lines a bundle;
 * - `guzheng/tsa/<H>` and `guzheng/cosignatures/<H>/<D>`: the time stamps and witness cosignature
 *   lines of block H, found by listing the bucket (with credentials). Over plain HTTP there is no
 *   listing: time stamps are then fetched block by block when asked for (`stampsWithoutListing`),
 *   and the cosignatures are those the bucket's checkpoint carries.
 *
 * The engine (replay.ts) checks all of it as for the service: the tree rebuilt from the entry
 * bytes and compared with every tile hash and every block's signed root, the chain, signatures,
 * time stamps with TSA roots, cosignatures with a policy. The bucket holds no digest index: none is
 * checked.
 *
 * With a listing, {@link BucketSource.finish} also checks every other object in the bucket
 * (bucket-listing.ts): the partial tiles and bundles of earlier checkpoints must be prefixes of the
 * current ones (which the replay verified), so the bucket holds no object that disagrees with the
 * log; objects beyond the checkpoint are counted (the mirror writes them before the checkpoint that
 * needs them).
 *
 * Entry bundles hold entry metadata (case numbers, file names): a bucket may keep them private
 * (docs/scaling.md#what-is-public). When they cannot be read, the audit stops at the start with an
 * {@link AuditAbort} that says so; `guzheng monitor` checks the public part (checkpoint, hash
 * tiles, blocks) without them.
 */
import { findBlockHeader } from '../core/block-header.js';
import { fromUtf8, toHex, utf8 } from '../core/bytes.js';
import { canonicalJsonText } from '../core/entry/jcs.js';
import { openCheckpoint } from '../core/checkpoint.js';
import { sha256 } from '../core/crypto.js';
import type { TreeHasher } from '../core/merkle/hash.js';
import { splitNote, type VerifierKey } from '../core/note.js';
import { formatTilePath, tileWidth, TILE_WIDTH, type Tile } from '../core/tiles.js';
import { decodeStoredToken } from '../log/stamps.js';
import { attachmentBundleKey, blockBundleKey, decodeAttachmentBundle, stampKey, type BlockGroup } from '../mirror/layout.js';
import { groupOf, ListingAccount, parseIndexPath } from './bucket-listing.js';
import { TileNodes } from './bucket-nodes.js';
import type { BucketReader, ObjectRead } from './bucket-store.js';
import { runAudit, type AuditOptions } from './replay.js';
import type { AuditReport, Problem } from './report.js';
import { checkTileBytes, firstLeaf, mapLimit, TileReads, type FetchedTile } from './tiled.js';
import type { EntryRead, IndexItem, StoredNodes } from './reads.js';
import { AuditAbort, type AuditSource, type BlockItem, type SourceInfo } from './source.js';

/** Options of {@link BucketSource}. */
export interface BucketSourceOptions {
  /** Objects read at once (default 16). */
  readonly concurrency?: number;
  /**
   * `all` (default): with a listing, check every object in the bucket, older partial tiles and
   * bundles included; `needed`: only those the checkpoint needs.
   */
  readonly objects?: 'all' | 'needed';
  /** Without a listing, fetch `guzheng/tsa/<H>` for every block (one GET each; for `--tsa-ca`). */
  readonly stampsWithoutListing?: boolean;
}

/** What the audit of a bucket read, beside the report (for people: {@link describeBucket}). */
export interface BucketSummary {
  readonly description: string;
  /** The bucket could be listed (credentials): every object was accounted for. */
  readonly listed: boolean;
  readonly anonymous: boolean;
  /** `all`: every listed object was checked; `needed`: only those the checkpoint needs. */
  readonly objects: 'all' | 'needed';
  /** Objects read (GETs). */
  readonly objectsRead: number;
  /** Objects listed under the prefix. */
  readonly objectsListed: number;
  /** Partial tiles and bundles of earlier checkpoints compared with the current ones. */
  readonly olderChecked: number;
  /** Objects beyond the checkpoint (written for a checkpoint not yet in the bucket): not checked. */
  readonly newer: number;
  /** Time-stamp and cosignature objects read. */
  readonly stamps: number;
  readonly cosignatures: number;
  /** Objects the mirror never writes (their names, the first 20). */
  readonly unknown: readonly string[];
  readonly unknownCount: number;
}

/** Reads a mirror's bucket for an audit. */
export class BucketSource implements AuditSource {
  readonly description: string;
  readonly live = true;
  readonly reader: BucketReader;
  readonly #verifier: VerifierKey;
  readonly #o: BucketSourceOptions;
  readonly #concurrency: number;
  readonly #tiles: TileReads;
  #size = 0n;
  #blockCount = 0n;
  #note = '';
  /** Every path under the prefix, when listed. */
  #listed: string[] | undefined;
  /** Listed stamp and cosignature objects, by block height. */
  readonly #stampPaths = new Map<bigint, string>();
  readonly #cosignaturePaths = new Map<bigint, string[]>();
  /** The first entry bundle, read by start() to see whether entries are readable at all. */
  #probe: { path: string; read: ObjectRead } | undefined;
  #read = 0;
  #stamps = 0;
  #cosignatures = 0;
  /** The listed objects beyond those the replay read, accounted for by finish(). */
  readonly #account: ListingAccount;
  /**
   * Problems with a block's evidence or form that do not break the stream (kept out of the block
   * items, so the chain is still checked across them), returned by finish().
   */
  readonly #late: Problem[] = [];

  constructor(reader: BucketReader, verifier: VerifierKey, options: BucketSourceOptions = {}) {
    this.reader = reader;
    this.description = `bucket ${reader.description}`;
    this.#verifier = verifier;
    this.#o = options;
    this.#concurrency = options.concurrency ?? 16;
    this.#tiles = new TileReads((t) => this.#tile(t), this.#concurrency, (t) => `bucket object ${reader.name(formatTilePath(t))}`);
    this.#account = new ListingAccount({ get: (path) => this.#get(path), object: (path) => this.object(path), concurrency: this.#concurrency });
  }

  /** What was read (valid once the audit is done). */
  summary(): BucketSummary {
    return {
      description: this.reader.description,
      listed: this.#listed !== undefined,
      anonymous: this.reader.anonymous,
      objects: this.#o.objects ?? 'all',
      objectsRead: this.#read,
      objectsListed: this.#listed?.length ?? 0,
      olderChecked: this.#account.olderChecked,
      newer: this.#account.newer,
      stamps: this.#stamps,
      cosignatures: this.#cosignatures,
      unknown: this.#account.unknown,
      unknownCount: this.#account.unknownCount,
    };
  }

  async #get(path: string): Promise<ObjectRead> {
    this.#read++;
    return this.reader.read(path);
  }

  /** `bucket object <key or URL>`, as every message names an object. */
  object(path: string): string {
    return `bucket object ${this.reader.name(path)}`;
  }

  #private(path: string, detail: string): AuditAbort {
    return new AuditAbort(
      `${this.object(path)} is not readable (${detail}): this bucket keeps its entry bundles private (docs/scaling.md#what-is-public). ` +
        'An audit replays the entries: read the bucket with credentials (s3://BUCKET/PREFIX with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or audit the service with --api-key. ' +
        'Without entries, guzheng monitor checks what is public: the checkpoint, its consistency with the last one through the hash tiles, and the blocks.',
    );
  }

  async start(): Promise<SourceInfo> {
    const got = await this.#get('checkpoint');
    if (got.status === 'missing') throw new AuditAbort(`${this.object('checkpoint')} does not exist: nothing was mirrored there yet, or the prefix is wrong`);
    if (got.status === 'denied') throw new AuditAbort(`${this.object('checkpoint')} is not readable (${got.detail}): the bucket is private; give credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) with s3://BUCKET/PREFIX`);
    let opened;
    try {
      this.#note = fromUtf8(got.bytes, 'checkpoint');
      opened = openCheckpoint(this.#note, this.#verifier);
    } catch (err) {
      throw new AuditAbort(`${this.object('checkpoint')} does not verify with the pinned key ${this.#verifier.text}: ${(err as Error).message}`, { cause: err, exitCode: 1 });
    }
    this.#size = opened.checkpoint.size;
    this.#tiles.size = this.#size;
    if (this.reader.list !== undefined) this.#listed = await this.reader.list('');
    const header = findBlockHeader(opened.checkpoint.extensions);
    if (header !== undefined) this.#blockCount = header.height + 1n;
    else if (this.#listed !== undefined) this.#blockCount = this.#countListedBlocks();
    else throw new AuditAbort(`${this.object('checkpoint')} names no block (a log of the first format): its blocks can only be found by listing the bucket; read it with credentials`);
    for (const path of this.#listed ?? []) {
      const parts = path.split('/');
      if (parts[0] !== 'guzheng') continue;
      if (parts[1] === 'tsa') {
        const h = parseIndexPath(parts.slice(2).join('/'));
        if (h !== undefined && h.width === TILE_WIDTH) this.#stampPaths.set(h.index, path);
      } else if (parts[1] === 'cosignatures' && parts.length >= 4) {
        const h = parseIndexPath(parts.slice(2, -1).join('/'));
        if (h !== undefined && h.width === TILE_WIDTH) this.#cosignaturePaths.set(h.index, [...(this.#cosignaturePaths.get(h.index) ?? []), path]);
      }
    }
    if (this.#size > 0n) {
      // An audit without entries is no audit: say so now, not as a problem halfway through.
      const path = formatTilePath({ kind: 'entries', index: 0n, width: tileWidth(0, 0n, this.#size) });
      const read = await this.#get(path);
      if (read.status === 'denied') throw this.#private(path, read.detail);
      this.#probe = { path, read };
    }
    return { size: this.#size, checkpoint: opened };
  }

  /** #countListedBlocks: blocks in the listed bundles (a checkpoint without a block header). */
  #countListedBlocks(): bigint {
    let count = 0n;
    for (const path of this.#listed ?? []) {
      if (!path.startsWith('guzheng/blocks/')) continue;
      const g = parseIndexPath(path.slice('guzheng/blocks/'.length));
      if (g !== undefined && g.index * BigInt(TILE_WIDTH) + BigInt(g.width) > count) count = g.index * BigInt(TILE_WIDTH) + BigInt(g.width);
    }
    return count;
  }

  async #tile(tile: Tile): Promise<FetchedTile> {
    const path = formatTilePath(tile);
    let read: ObjectRead;
    if (this.#probe?.path === path) {
      read = this.#probe.read;
      this.#probe = undefined;
    } else read = await this.#get(path);
    if (read.status === 'denied' && tile.kind === 'entries') throw this.#private(path, read.detail);
    if (read.status !== 'ok') {
      const found = read.status === 'missing' ? 'missing' : `not readable (${read.detail})`;
      return { problem: { kind: 'tile-invalid', index: firstLeaf(tile), message: `${this.object(path)} is ${found}, although the bucket's checkpoint of size ${this.#size} covers it`, expected: 'the object', found } };
    }
    return checkTileBytes(tile, read.bytes, this.object(path));
  }

  /**
   * readEntries: the entries from their bundles, with the attachments from the attachment bundles
   * beside them (`guzheng/attachments/<N>[.p/<W>]`, written for every group that holds a record or
   * an HJ 212 packet), which the replay checks against the entries' digests as it does locally.
   */
  async readEntries(start: bigint, count: number): Promise<EntryRead> {
    const [read, attachments] = await Promise.all([this.#tiles.readEntries(start, count), this.#attachments(start, count)]);
    if (attachments === undefined) return read;
    const n = read.lengths.length;
    return { ...read, attachments: attachments.filter((a) => a.offset < n) };
  }

  /**
   * The attachments of entries [start, start + count) by offset from `start`, or undefined when
   * an attachment bundle cannot be used (then a problem names it, and this read's are not checked).
   */
  async #attachments(start: bigint, count: number): Promise<Array<{ offset: number; bytes: Uint8Array }> | undefined> {
    const w = BigInt(TILE_WIDTH);
    const groups: BlockGroup[] = [];
    for (let n = start / w; n <= (start + BigInt(count) - 1n) / w; n++) groups.push({ index: n, width: tileWidth(0, n, this.#size) });
    const out: Array<{ offset: number; bytes: Uint8Array }> = [];
    let usable = true;
    await mapLimit(groups, this.#concurrency, async (g) => {
      const path = attachmentBundleKey('', g);
      const read = await this.#get(path);
      if (read.status === 'missing') return; // no entry of the group has one
      const first = g.index * w;
      if (read.status === 'denied') {
        usable = false;
        this.#late.push({ kind: 'attachment', index: first, message: `${this.object(path)} is not readable (${read.detail}): the attachments of entries ${first}..${first + BigInt(g.width) - 1n} were not checked` });
        return;
      }
      let list: Array<Uint8Array | undefined>;
      try {
        list = decodeAttachmentBundle(read.bytes, g.width);
      } catch (err) {
        usable = false;
        this.#late.push({ kind: 'attachment', index: first, message: `${this.object(path)} is not a valid attachment bundle of ${g.width} entries: ${(err as Error).message}` });
        return;
      }
      list.forEach((bytes, i) => {
        const index = first + BigInt(i);
        if (bytes !== undefined && index >= start && index < start + BigInt(count)) out.push({ offset: Number(index - start), bytes });
      });
    });
    return usable ? out : undefined;
  }

  readNodes(level: number, start: bigint, count: number): Promise<StoredNodes | undefined> {
    return this.#tiles.readNodes(level, start, count);
  }

  /** The time stamp kept with block `height`: its token, or a problem naming the object. */
  async #stamp(height: bigint): Promise<{ token?: Uint8Array; problem?: Problem }> {
    const path = this.#listed !== undefined ? this.#stampPaths.get(height) : this.#o.stampsWithoutListing === true ? stampKey('', height) : undefined;
    if (path === undefined) return {};
    const read = await this.#get(path);
    // Unlisted: most blocks have no stamp, and a store that may not be listed answers 403 for a missing object.
    if (read.status !== 'ok' && this.#listed === undefined) return {};
    if (read.status !== 'ok') return { problem: { kind: 'timestamp-invalid', height, message: `${this.object(path)} is ${read.status === 'missing' ? 'listed but missing' : `not readable (${read.detail})`}` } };
    this.#stamps++;
    try {
      return { token: decodeStoredToken(read.bytes, height).token };
    } catch (err) {
      return { problem: { kind: 'timestamp-invalid', height, message: `${this.object(path)}, the time stamp of block ${height}, is corrupt: ${(err as Error).message}` } };
    }
  }

  /** The cosignature lines kept with block `height`; each object must be named by its line's SHA-256. */
  async #cosignatureLines(height: bigint, lastNote: string | undefined): Promise<{ lines: string[]; problems: Problem[] }> {
    if (this.#listed === undefined) {
      // No listing: the cosignatures the bucket's checkpoint carries, for the block it is.
      if (lastNote === undefined) return { lines: [], problems: [] };
      try {
        return { lines: splitNote(lastNote).signatures, problems: [] };
      } catch {
        return { lines: [], problems: [] };
      }
    }
    const lines: string[] = [];
    const problems: Problem[] = [];
    const paths = this.#cosignaturePaths.get(height) ?? [];
    await mapLimit(paths, 4, async (path) => {
      const read = await this.#get(path);
      if (read.status !== 'ok') {
        problems.push({ kind: 'cosignature-invalid', height, message: `${this.object(path)} is ${read.status === 'missing' ? 'listed but missing' : `not readable (${read.detail})`}` });
        return;
      }
      this.#cosignatures++;
      let text: string;
      try {
        text = fromUtf8(read.bytes, 'cosignature');
      } catch {
        text = '';
      }
      const line = text.endsWith('\n') ? text.slice(0, -1) : text;
      const want = toHex(sha256(utf8(line)));
      if (!text.endsWith('\n') || line.includes('\n') || path.slice(path.lastIndexOf('/') + 1) !== want) {
        problems.push({ kind: 'cosignature-invalid', height, message: `${this.object(path)} does not hold the cosignature line its name promises (one line whose SHA-256 is the name)`, expected: path.slice(path.lastIndexOf('/') + 1), found: want });
        return;
      }
      lines.push(line);
    });
    return { lines, problems };
  }

  /** #bundle reads one block bundle: the block JSON values by height, or a problem for the whole group. */
  async #bundle(group: BlockGroup): Promise<BlockItem[]> {
    const path = blockBundleKey('', group);
    const first = group.index * BigInt(TILE_WIDTH);
    const read = await this.#get(path);
    if (read.status !== 'ok') {
      const found = read.status === 'missing' ? 'missing' : `not readable (${read.detail})`;
      return [{ height: first, problem: { kind: 'block-missing', height: first, message: `blocks ${first}..${first + BigInt(group.width) - 1n}: ${this.object(path)} is ${found}`, expected: 'the object', found } }];
    }
    let text: string;
    try {
      text = fromUtf8(read.bytes, 'block bundle');
    } catch (err) {
      return [{ height: first, problem: { kind: 'block-invalid', height: first, message: `${this.object(path)} is not UTF-8: ${(err as Error).message}` } }];
    }
    const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
    const items: BlockItem[] = [];
    if (lines.length !== group.width || !text.endsWith('\n')) {
      items.push({ height: first, problem: { kind: 'block-invalid', height: first, message: `${this.object(path)} holds ${lines.length} lines${text.endsWith('\n') ? '' : ' (the last without its newline)'}, want ${group.width} blocks, one a line`, expected: `${group.width} lines`, found: `${lines.length} lines` } });
    }
    lines.slice(0, group.width).forEach((line, i) => {
      const height = first + BigInt(i);
      let json: unknown;
      try {
        json = JSON.parse(line);
      } catch {
        items.push({ height, problem: { kind: 'block-invalid', height, message: `block ${height}: line ${i} of ${this.object(path)} is not JSON` } });
        return;
      }
      let canonical: boolean;
      try {
        canonical = canonicalJsonText(json, 'block') === line;
      } catch {
        canonical = false;
      }
      // Not canonical: the same block in other bytes, which the mirror never writes (the engine
      // still checks it, after this problem).
      if (!canonical) this.#late.push({ kind: 'block-invalid', height, message: `block ${height}: line ${i} of ${this.object(path)} is not in RFC 8785 canonical form` });
      items.push({ height, json });
    });
    return items;
  }

  async *blocks(): AsyncIterable<BlockItem> {
    const count = this.#blockCount;
    const groups: BlockGroup[] = [];
    for (let h = 0n; h < count; h += BigInt(TILE_WIDTH)) groups.push(groupOf(h, count));
    // Two bundles ahead, so the replay does not wait for each one.
    const ahead: Array<Promise<BlockItem[]>> = [];
    const fetch = (i: number) => {
      const g = groups[i];
      if (g === undefined) return;
      const p = this.#bundle(g);
      p.catch(() => {});
      ahead.push(p);
    };
    fetch(0);
    fetch(1);
    for (let i = 0; i < groups.length; i++) {
      const items = await (ahead.shift() as Promise<BlockItem[]>);
      fetch(i + 2);
      // The evidence of this bundle's blocks, fetched together.
      const heights = [...new Set(items.filter((it) => it.json !== undefined).map((it) => it.height))];
      const evidence = await mapLimit(heights, this.#concurrency, async (h) => {
        const note = h === count - 1n ? this.#note : undefined;
        const [stamp, cosig] = await Promise.all([this.#stamp(h), this.#cosignatureLines(h, note)]);
        return { h, stamp, cosig };
      });
      const byHeight = new Map(evidence.map((e) => [e.h, e]));
      for (const it of items) {
        const e = it.json !== undefined ? byHeight.get(it.height) : undefined;
        if (e === undefined) {
          yield it;
          continue;
        }
        byHeight.delete(it.height);
        this.#late.push(...e.cosig.problems, ...(e.stamp.problem !== undefined ? [e.stamp.problem] : []));
        yield {
          ...it,
          ...(e.stamp.token !== undefined ? { tokens: [e.stamp.token] } : {}),
          ...(e.cosig.lines.length > 0 ? { cosignatures: e.cosig.lines } : {}),
        };
      }
    }
  }

  async checkIndexes(_items: readonly IndexItem[]): Promise<{ problems: Problem[]; lookups: number }> {
    return { problems: [], lookups: 0 }; // the bucket holds no digest index
  }

  /** consistencyProof builds the proof from the bucket's hash tiles at size `to` (fraud evidence). */
  consistencyProof(from: bigint, to: bigint, tree: TreeHasher): Promise<Uint8Array[]> {
    return new TileNodes(this.reader, to, tree).consistencyProof(from);
  }

  /**
   * finish, with a listing: every object under the prefix is accounted for. Tiles and bundles the
   * checkpoint needs were checked by the replay; older partial ones must be prefixes of those;
   * newer ones are counted; anything the mirror never writes is named.
   */
  async finish(): Promise<Problem[]> {
    const problems: Problem[] = [...this.#late];
    if (this.#listed === undefined || this.#o.objects === 'needed') return problems;
    problems.push(...(await this.#account.check(this.#listed, this.#size, this.#blockCount)));
    return problems;
  }

  /**
   * locate names the bucket object behind a problem the engine found (a node, an entry, a block),
   * or undefined when the problem already names one or concerns none. A leaf (level 0) that
   * differs from its tile hash is the entry bundle's fault when some signed root the entries
   * should give differs too, else the hash tile's: the entries then give every signed root.
   */
  locate(p: Problem, report: AuditReport): string | undefined {
    if (p.message.includes('bucket object ')) return undefined;
    const size = this.#size;
    const entryBundle = (i: bigint) => formatTilePath({ kind: 'entries', index: i / BigInt(TILE_WIDTH), width: tileWidth(0, i / BigInt(TILE_WIDTH), size) });
    switch (p.kind) {
      case 'node-mismatch':
      case 'node-missing': {
        if (p.level === undefined || p.node === undefined || p.level % 8 !== 0) return undefined;
        const L = p.level / 8;
        const n = p.node / BigInt(TILE_WIDTH);
        const tile = formatTilePath({ kind: 'hash', level: L, index: n, width: tileWidth(L, n, size) });
        const rootsDiffer = report.problems.some((q) => q.kind === 'root-mismatch' && (q.index ?? 0n) <= p.node!);
        if (p.level === 0 && p.kind === 'node-mismatch' && rootsDiffer) return this.reader.name(entryBundle(p.node));
        return this.reader.name(tile);
      }
      case 'attachment':
        return p.index === undefined || p.index >= size ? undefined : this.reader.name(attachmentBundleKey('', { index: p.index / BigInt(TILE_WIDTH), width: tileWidth(0, p.index / BigInt(TILE_WIDTH), size) }));
      case 'entry-invalid':
      case 'root-mismatch':
        return p.index === undefined || p.index >= size ? undefined : this.reader.name(entryBundle(p.index));
      case 'block-invalid':
      case 'chain-broken':
      case 'block-missing':
        return p.height === undefined || p.height >= this.#blockCount ? undefined : this.reader.name(blockBundleKey('', groupOf(p.height, this.#blockCount)));
      case 'timestamp-invalid':
        return p.height === undefined ? undefined : this.reader.name(stampKey('', p.height));
      case 'cosignature-invalid':
        return p.height === undefined ? undefined : this.reader.name(`guzheng/cosignatures/${formatTilePath({ kind: 'entries', index: p.height, width: TILE_WIDTH }).slice('tile/entries/'.length)}/`);
      default:
        return undefined;
    }
  }

  async close(): Promise<void> {
    this.reader.close();
  }
}

/**
 * auditBucket runs the audit (runAudit) over a bucket source and names, in each listed problem's
 * message, the bucket object it points at. Requires: as runAudit. The caller closes the source.
 */
export async function auditBucket(source: BucketSource, options: AuditOptions): Promise<{ report: AuditReport; bucket: BucketSummary }> {
  const report = await runAudit(source, options);
  const problems = report.problems.map((p) => {
    const name = source.locate(p, report);
    return name === undefined ? p : { ...p, message: `${p.message} (bucket object ${name})` };
  });
  return { report: { ...report, problems }, bucket: source.summary() };
}

/** describeBucket: the lines a human audit report adds for a bucket (what was read, what was not). */
export function describeBucket(b: BucketSummary): string[] {
  const fmt = (n: number) => n.toLocaleString('en-US');
  const lines = [
    `  bucket     ${fmt(b.objectsRead)} objects read${
      !b.listed
        ? ' (no listing: only the objects the checkpoint needs)'
        : b.objects === 'needed'
          ? ` of ${fmt(b.objectsListed)} listed (--objects needed: the partial tiles and bundles of earlier checkpoints not read)`
          : ` of ${fmt(b.objectsListed)} listed; ${fmt(b.olderChecked)} partial tiles and bundles of earlier checkpoints compared with the current ones`
    }`,
    `  evidence   ${fmt(b.stamps)} time-stamp and ${fmt(b.cosignatures)} cosignature objects read${b.listed ? '' : ' (no listing: cosignatures are those of the checkpoint; time stamps only with --tsa-ca)'}`,
    `  indexes    not checked: the bucket holds no digest index (audit the service with --url for it)`,
  ];
  if (b.newer > 0) lines.push(`  newer      ${fmt(b.newer)} objects beyond the checkpoint, not checked (written for a checkpoint not yet mirrored)`);
  if (b.unknownCount > 0) lines.push(`  unknown    ${fmt(b.unknownCount)} objects the mirror does not write: ${b.unknown.join(', ')}${b.unknownCount > b.unknown.length ? ', …' : ''}`);
  return lines;
}

/** bucketJson: the `bucket` member of a `--json` audit report. */
export function bucketJson(b: BucketSummary): Record<string, unknown> {
  return { ...b, unknown: [...b.unknown] };
}
