/**
 * The ledger: one log over one store, with its single writer (Sequencer), its publisher, and the
 * read side every adapter (HTTP, CLI, HJ 212 gateway) uses. Proofs read O(log n) stored nodes;
 * nothing rebuilds a tree to answer a query.
 */
import { parseBlock, type Block, type BlockJson } from '../core/block.js';
import { fromHex, toHex } from '../core/bytes.js';
import { CanonicalJson, canonicalJson } from '../core/entry/jcs.js';
import { buildEntry, decodeEntry, digestBytes, formatReceivedAt, type Digest, type Entry, type MetaOf } from '../core/entry/index.js';
import { LedgerError } from '../core/errors.js';
import { suiteOfKey, type CryptoSuite } from '../core/suite.js';
import { buildProof, planConsistency, planInclusion } from '../core/merkle/plan.js';
import { parseSignerKey, parseVerifierKey, formatVerifierKey, type SignerKey, type VerifierKey } from '../core/note.js';
import { buildReceipt, type Receipt } from '../core/receipt.js';
import type { Stamp } from '../core/stamp.js';
import type { Policy } from '../core/policy.js';
import type { LedgerStore } from '../storage/store.js';
import { NodeCache } from './node-cache.js';
import { Publisher, type Published } from './publisher.js';
import { StampBook } from './stamps.js';
import { CosignatureBook, cosignedNote } from './cosignatures.js';
import { WitnessClient } from './witness-client.js';
import { recover, type KnownCheckpoint } from './recover.js';
import { Sequencer, type Appended, type PendingEntry, type SequencerOptions } from './sequencer.js';
import { Summaries, type SummaryOptions } from './summaries.js';

/** What a submitter asks to anchor. A record is stored; a document or digest only by digest. */
export type EntryInput =
  /** `record`: any plain JSON value, or a {@link CanonicalJson} already checked and canonicalized. */
  | { readonly type: 'record'; readonly record: unknown; readonly meta: MetaOf<'record'> }
  | { readonly type: 'digest'; readonly digest: Digest; readonly meta: MetaOf<'digest'> }
  | { readonly type: 'document'; readonly digest: Digest; readonly meta: MetaOf<'document'> }
  | { readonly type: 'hj212'; readonly raw: Uint8Array; readonly digest: Digest; readonly meta: MetaOf<'hj212'> };

/** The acknowledgement of one anchored entry. */
export interface AppendResult {
  readonly index: bigint;
  readonly leafHash: string;
  readonly digest: Digest;
  readonly entry: Entry;
}

/** A stored entry as read back. */
export interface StoredEntry {
  readonly index: bigint;
  readonly leafHash: string;
  /** The exact leaf bytes. */
  readonly data: Uint8Array;
  readonly entry: Entry;
  /** The record (canonical JSON bytes) or raw packet stored with the entry, if any. */
  readonly attachment?: Uint8Array;
}

export interface LedgerOptions {
  readonly store: LedgerStore;
  /**
   * The log's signer key, `PRIVATE+KEY+<origin>+<keyid>+<base64>`; its name is the origin. Absent
   * for a read replica, which gives `verifierKey` instead.
   */
  readonly signerKey?: string;
  /**
   * Only without `signerKey`: the log's verifier key. The ledger is then READ-ONLY (a read replica,
   * docs/scaling.md#read-replicas): it never signs, {@link Ledger.append} refuses, and its blocks
   * are the primary's, stored by the replica and handed to {@link Ledger.adopt}.
   */
  readonly verifierKey?: string;
  /** Minimum interval between checkpoints (ms). Default 200. */
  readonly checkpointIntervalMs?: number;
  /** Minimum interval between checkpoints while a submitter waits for a receipt (ms). Default 50 (capped by checkpointIntervalMs). */
  readonly receiptIntervalMs?: number;
  readonly clock?: () => Date;
  readonly sequencer?: SequencerOptions;
  /**
   * The latest checkpoint this log is known to have signed, kept outside the store: the store must
   * hold a tree extending it, else open refuses (a deleted, replaced or rolled-back database).
   */
  readonly knownCheckpoint?: KnownCheckpoint;
  /** Called after each checkpoint is published (durably sealed), e.g. to keep it outside the store. */
  readonly onPublish?: (published: Published) => void;
  /** The witness policy (C2SP tlog-policy): each checkpoint is submitted to its witnesses, receipts wait for its quorum. */
  readonly witnessPolicy?: Policy;
  /** Deadline of one witness request, ms (default 3,000). */
  readonly witnessTimeoutMs?: number;
  /** Witness events (refusals, anomalies), one line each. */
  readonly onWitnessEvent?: (line: string) => void;
  /** The explorer's summaries (src/log/summaries.ts), kept in the background: on unless `false`. */
  readonly summaries?: false | SummaryOptions;
}

/** The checkpoint a document is proved against: its size and its note, with the cosignatures it has. */
export interface Proving {
  readonly size: bigint;
  readonly note: string;
}

/** Blocks kept in memory for finding a recent entry's sealing block (SPEC.md#receipts). */
const RECENT_BLOCKS = 1024;

/** Names of the secondary indexes the log maintains. */
export const SECONDARY = { case: 'case', hj212Device: 'hj212-mn' } as const;

/** secondaryKeysOf lists the secondary index keys of an entry: its case, an HJ 212 device's MN. */
export function secondaryKeysOf(entry: Entry): Array<{ name: string; key: string }> {
  const out: Array<{ name: string; key: string }> = [];
  const meta = entry.meta as { caseId?: string; mn?: string };
  if (meta.caseId !== undefined) out.push({ name: SECONDARY.case, key: meta.caseId });
  if (entry.type === 'hj212' && meta.mn !== undefined) out.push({ name: SECONDARY.hj212Device, key: meta.mn });
  return out;
}

/** Most entries one listing or batch may return. */
export const MAX_PAGE = 1000;

/** ReadOnlyLogError: an append to a read replica's ledger (the HTTP layer refuses writes before). */
export class ReadOnlyLogError extends Error {
  readonly code = 'READ_ONLY_REPLICA' as const;
  constructor() {
    super('this log is a read replica: it anchors nothing (send entries to the primary)');
    this.name = 'ReadOnlyLogError';
  }
}

export class Ledger {
  readonly store: LedgerStore;
  /** The log's signer key; undefined for a read replica (it never signs). */
  readonly signer: SignerKey | undefined;
  readonly verifier: VerifierKey;
  /** The log's crypto suite, fixed by its key (SPEC.md#crypto-suites). */
  readonly suite: CryptoSuite;
  readonly sequencer: Sequencer;
  readonly publisher: Publisher;
  /** The RFC 3161 time stamps of the log's checkpoints (filled by src/tsa/stamper.ts when a TSA is configured). */
  readonly stamps: StampBook;
  /** The witness cosignatures of the log's checkpoints. */
  readonly cosignatures: CosignatureBook;
  /** The witness client, when a witness policy is configured. */
  readonly witnesses: WitnessClient | undefined;
  /** The explorer's summaries (statistics, cases), unless turned off. */
  readonly summaries: Summaries | undefined;
  /** Called with each newly published block (see onBlock). */
  readonly #blockListeners = new Set<(published: Published) => void>();
  readonly #witnessTimeoutMs: number;
  /**
   * The blocks published since this start, newest last (at most RECENT_BLOCKS): receipts proved
   * against a witnessed checkpoint, which is older than the latest, find their sealing block here
   * instead of by a binary search over the store, one read per step.
   */
  readonly #recentBlocks: Block[] = [];
  readonly checkpointIntervalMs: number;
  readonly #clock: () => Date;
  /** Upper tree nodes read for proofs (immutable once stored). */
  readonly #nodes = new NodeCache();
  #closing: Promise<void> | undefined;
  readonly #receipts = new Set<Promise<Receipt | undefined>>();
  /** The time value (ms) of the last receive time formatted, and its text (see #receivedAt). */
  #lastMs = Number.NaN;
  #lastReceivedAt = '';
  /** No clock was given: the system clock, read with Date.now(). */
  readonly #systemClock: boolean;

  private constructor(o: LedgerOptions, signer: SignerKey | undefined, verifier: VerifierKey, sequencer: Sequencer, publisher: Publisher, stamps: StampBook, cosignatures: CosignatureBook, witnesses: WitnessClient | undefined) {
    this.store = o.store;
    this.stamps = stamps;
    this.cosignatures = cosignatures;
    this.witnesses = witnesses;
    this.#witnessTimeoutMs = o.witnessTimeoutMs ?? 3000;
    this.signer = signer;
    this.verifier = verifier;
    this.suite = suiteOfKey(verifier);
    this.sequencer = sequencer;
    this.publisher = publisher;
    this.checkpointIntervalMs = o.checkpointIntervalMs ?? 200;
    this.#clock = o.clock ?? (() => new Date());
    this.#systemClock = o.clock === undefined;
    this.summaries =
      o.summaries === false
        ? undefined
        : new Summaries(
            { store: o.store, size: () => sequencer.size, blocks: () => (publisher.latest?.block.height ?? -1n) + 1n, queued: () => sequencer.queued },
            o.summaries,
          );
  }

  /** open recovers the tree from the store, checks it against the last block, and starts publishing. */
  static async open(o: LedgerOptions): Promise<Ledger> {
    if ((o.signerKey === undefined) === (o.verifierKey === undefined)) throw new Error('ledger: want a signer key, or (read-only) a verifier key');
    const signer = o.signerKey === undefined ? undefined : parseSignerKey(o.signerKey);
    const verifier = signer === undefined ? parseVerifierKey(o.verifierKey as string) : parseVerifierKey(formatVerifierKey(signer.name, signer.publicKey));
    const rec = await recover(o.store, verifier, o.knownCheckpoint);
    // Leaves are hashed with the suite of the log's key (SPEC.md#crypto-suites), taken once here.
    const sequencer = new Sequencer(o.store, rec.range, suiteOfKey(verifier).tree, o.sequencer);
    const clock = o.clock ?? (() => new Date());
    const publisher = new Publisher({
      store: o.store,
      sequencer,
      ...(signer !== undefined ? { signer } : {}),
      verifier,
      intervalMs: o.checkpointIntervalMs ?? 200,
      waitIntervalMs: o.receiptIntervalMs ?? 50,
      clock,
      ...(rec.lastBlock ? { lastBlock: rec.lastBlock } : {}),
      ...(rec.lastCheckpoint ? { lastCheckpoint: rec.lastCheckpoint } : {}),
      onPublish: (p) => {
        if (ledger !== undefined) {
          ledger.#rememberBlock(p.block);
          ledger.#emitBlock(p);
        }
        witnesses?.notify(p);
        o.onPublish?.(p);
      },
    });
    const stamps = new StampBook(o.store);
    await stamps.load();
    const cosignatures = new CosignatureBook(o.store, o.onWitnessEvent === undefined ? undefined : (m) => o.onWitnessEvent?.(`witnesses: ${m}`));
    // Late-bound: the ledger proves consistency and checks signed sizes for the client.
    let ledger: Ledger | undefined;
    const witnesses =
      o.witnessPolicy === undefined
        ? undefined
        : new WitnessClient({
            policy: o.witnessPolicy,
            book: cosignatures,
            prove: async (from, to) => (await (ledger as Ledger).consistencyProof(from, to)).path.map(fromHexHash),
            signedSize: (size) => (ledger as Ledger).isSignedSize(size),
            checkpointAt: async (height) => {
              const json = await o.store.getBlock(height);
              return json === undefined ? undefined : parseBlock(json).checkpoint;
            },
            ...(o.witnessTimeoutMs !== undefined ? { timeoutMs: o.witnessTimeoutMs } : {}),
            ...(o.onWitnessEvent !== undefined ? { onEvent: o.onWitnessEvent } : {}),
            publish: () =>
              publisher.publishNow().catch((err: unknown) => o.onWitnessEvent?.(`witnesses: could not publish for the next round: ${(err as Error).message}`)),
          });
    ledger = new Ledger(o, signer, verifier, sequencer, publisher, stamps, cosignatures, witnesses);
    // Before the first submission: what each witness cosigned before this start, read back from
    // the kept cosignatures, so a witness rolled back while the log was down is noticed.
    await witnesses?.seed();
    await publisher.start();
    // The latest checkpoint, published before this start, is submitted too.
    const latest = publisher.latest;
    if (latest !== undefined) witnesses?.notify(latest, false);
    ledger.summaries?.start();
    return ledger;
  }

  /** The log origin (= key name). */
  get origin(): string {
    return this.verifier.name;
  }

  /** True for a read replica's ledger (opened with a verifier key only): it never signs or appends. */
  get readOnly(): boolean {
    return this.signer === undefined;
  }

  /**
   * adopt makes a read replica's ledger follow what the replica stored (src/mirror/replica.ts):
   * the entries (the sequencer takes the stored size), then `blocks`, the primary's, each verified
   * against the log's key and the stored tree and published to listeners as if sealed here, and
   * the time stamps stored with them. Requires: a read-only ledger; the blocks stored, in order,
   * each following the latest.
   */
  async adopt(blocks: readonly Block[]): Promise<void> {
    if (!this.readOnly) throw new Error('ledger: only a read replica adopts blocks');
    await this.sequencer.resync();
    for (const b of blocks) await this.publisher.adopt(b);
    await this.stamps.load();
  }

  /** The verifier key string clients pin. */
  get verifierKey(): string {
    return this.verifier.text;
  }

  /** The latest published block and checkpoint. */
  latest(): Published {
    const l = this.publisher.latest;
    if (l === undefined) throw new Error('ledger: no checkpoint published yet');
    return l;
  }

  /** The latest signed checkpoint size. */
  get checkpointSize(): bigint {
    return this.latest().checkpoint.checkpoint.size;
  }

  /**
   * append validates and anchors entries as one all-or-nothing unit; resolves once they are
   * durable (fsynced). Throws ENTRY_INVALID / INPUT_INVALID before anything is queued.
   */
  async append(inputs: readonly EntryInput[], submitter: string): Promise<AppendResult[]> {
    if (this.readOnly) throw new ReadOnlyLogError();
    const receivedAt = this.#receivedAt();
    const n = inputs.length;
    const entries: Entry[] = new Array(n);
    const pending: PendingEntry[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const p = this.#prepare(inputs[i] as EntryInput, submitter, receivedAt);
      entries[i] = p.entry;
      pending[i] = p.pending;
    }
    const done = await this.sequencer.submit(pending);
    const out: AppendResult[] = new Array(done.length);
    for (let i = 0; i < done.length; i++) {
      const d = done[i] as Appended;
      const entry = entries[i] as Entry;
      out[i] = { index: d.index, leafHash: hashHex(d.leafHash), digest: entry.digest, entry };
    }
    // One push: the summaries fold entries in later, off this path.
    this.summaries?.appended(out);
    return out;
  }

  /**
   * #receivedAt formats the clock's time; the text of the last millisecond is kept, since
   * concurrent appends mostly read the same one (the text is a function of the time value alone).
   * With the default clock no Date is made unless the millisecond changed.
   */
  #receivedAt(): string {
    const system = this.#systemClock;
    const now = system ? undefined : this.#clock();
    const ms = system ? Date.now() : now instanceof Date ? now.getTime() : Number.NaN;
    if (ms === this.#lastMs) return this.#lastReceivedAt;
    // Throws for an invalid time, which is then never remembered (NaN equals nothing).
    const text = formatReceivedAt(system ? new Date(ms) : (now as Date));
    this.#lastMs = ms;
    this.#lastReceivedAt = text;
    return text;
  }

  #prepare(input: EntryInput, submitter: string, receivedAt: string): { entry: Entry; pending: PendingEntry } {
    // One schema validation and one canonical serialization per entry (buildEntry).
    let built: { entry: Entry; bytes: Uint8Array };
    let attachment: Uint8Array | undefined;
    switch (input.type) {
      case 'record': {
        // The record's canonical bytes are both its stored attachment and what its digest hashes.
        attachment = input.record instanceof CanonicalJson ? input.record.bytes : canonicalJson(input.record);
        built = buildEntry({ type: 'record', digest: digestBytes(attachment, this.suite.digestAlg), meta: input.meta, submitter, receivedAt });
        break;
      }
      case 'hj212':
        attachment = input.raw;
        built = buildEntry({ type: 'hj212', digest: input.digest, meta: input.meta, submitter, receivedAt });
        break;
      case 'document':
        built = buildEntry({ type: 'document', digest: input.digest, meta: input.meta, submitter, receivedAt });
        break;
      case 'digest':
        built = buildEntry({ type: 'digest', digest: input.digest, meta: input.meta, submitter, receivedAt });
        break;
    }
    const entry = built.entry;
    if (entry.digest.alg !== this.suite.digestAlg) {
      throw new LedgerError('ENTRY_INVALID', `digest.alg: got ${entry.digest.alg}, want ${this.suite.digestAlg} (this log's crypto suite is ${this.suite.id})`);
    }
    const secondary = secondaryKeysOf(entry);
    // Only the members present (PendingEntry's optional fields are absent, never undefined).
    const pending: { -readonly [K in keyof PendingEntry]: PendingEntry[K] } = { entryBytes: built.bytes, digest: entry.digest };
    if (attachment) pending.attachment = attachment;
    if (secondary.length > 0) pending.secondary = secondary;
    return { entry, pending };
  }

  /** getEntry reads entry `index` (and its attachment), or undefined beyond the log. */
  async getEntry(index: bigint): Promise<StoredEntry | undefined> {
    const [[data], attachment] = await Promise.all([this.store.getEntries(index, 1), this.store.getAttachment(index)]);
    if (data === undefined) return undefined;
    return this.#stored(index, data, attachment);
  }

  /** listEntries reads up to `limit` (≤ MAX_PAGE) entries from `start`, without attachments. */
  async listEntries(start: bigint, limit: number): Promise<StoredEntry[]> {
    const data = await this.store.getEntries(start, Math.min(limit, MAX_PAGE));
    return data.map((d, i) => this.#stored(start + BigInt(i), d, undefined));
  }

  #stored(index: bigint, data: Uint8Array, attachment: Uint8Array | undefined): StoredEntry {
    const base = { index, leafHash: toHex(this.suite.tree.hashLeaf(data)), data, entry: decodeEntry(data) };
    return attachment === undefined ? base : { ...base, attachment };
  }

  /** lookupDigest lists every anchoring of a content digest. */
  async lookupDigest(alg: string, hex: string): Promise<Array<{ index: bigint; leafHash: string; receivedAt: string; type: string }>> {
    const indexes = await this.store.lookupDigest(alg, hex);
    // Read concurrently: the reads of all anchorings overlap instead of queueing one by one.
    const found = await Promise.all(indexes.map((index) => this.getEntry(index)));
    const out = [];
    for (const e of found) if (e) out.push({ index: e.index, leafHash: e.leafHash, receivedAt: e.entry.receivedAt, type: e.entry.type });
    return out;
  }

  /**
   * lookupSecondary lists up to `limit` (≤ MAX_PAGE) entry indexes >= `start` under a secondary
   * index: {@link SECONDARY.case} (caseId) or {@link SECONDARY.hj212Device} (device MN).
   */
  async lookupSecondary(name: string, key: string, start: bigint, limit: number): Promise<bigint[]> {
    return this.store.lookupSecondary(name, key, start, Math.min(limit, MAX_PAGE));
  }

  #checkSize(size: bigint | undefined): bigint {
    const latest = this.checkpointSize;
    const s = size ?? latest;
    if (s > latest) throw new LedgerError('INPUT_INVALID', `size ${s} is beyond the latest checkpoint size ${latest}`);
    return s;
  }

  /** inclusionProof proves entry `index` in the tree of `size` (default: the latest checkpoint). */
  async inclusionProof(index: bigint, size?: bigint): Promise<{ index: bigint; size: bigint; leafHash: string; path: string[] }> {
    const s = this.#checkSize(size);
    if (index >= s) throw new LedgerError('INPUT_INVALID', `index ${index} is not below size ${s}`);
    const plan = planInclusion(index, s);
    // The stored leaf (node 0/index) and the path in one batched read: O(log n) keys, one round trip.
    const [leaf, ...hashes] = await this.#nodes.readNodes(this.store, [{ level: 0, index }, ...plan.ids]);
    if (leaf === undefined) throw new Error(`storage: leaf ${index} missing`);
    return { index, size: s, leafHash: toHex(leaf), path: buildProof(plan, hashes, this.suite.tree).map(toHex) };
  }

  /** inclusionProofByLeafHash proves the first entry with this leaf hash. */
  async inclusionProofByLeafHash(leafHash: Uint8Array, size?: bigint): Promise<{ index: bigint; size: bigint; leafHash: string; path: string[] } | undefined> {
    const s = this.#checkSize(size);
    const [index] = (await this.store.lookupLeafHash(leafHash)).filter((i) => i < s);
    return index === undefined ? undefined : this.inclusionProof(index, s);
  }

  /** consistencyProof proves the tree of `from` is a prefix of the tree of `to` (default latest). */
  async consistencyProof(from: bigint, to?: bigint): Promise<{ from: bigint; to: bigint; path: string[] }> {
    const t = this.#checkSize(to);
    if (from > t) throw new LedgerError('INPUT_INVALID', `from ${from} is beyond to ${t}`);
    const plan = planConsistency(from, t);
    return { from, to: t, path: buildProof(plan, await this.#nodes.readNodes(this.store, plan.ids), this.suite.tree).map(toHex) };
  }

  /** block reads one block. */
  async block(height: bigint): Promise<BlockJson | undefined> {
    return this.store.getBlock(height);
  }

  /** blocks reads up to `limit` (≤ MAX_PAGE) blocks from `from`. */
  async blocks(from: bigint, limit: number): Promise<BlockJson[]> {
    return this.store.getBlocks(from, Math.min(limit, MAX_PAGE));
  }

  /** isSignedSize tells whether the log signed a checkpoint of exactly `size` entries (some block's size). */
  async isSignedSize(size: bigint): Promise<boolean> {
    if (size > this.checkpointSize) return false;
    if (size === 0n) {
      const genesis = await this.store.getBlock(0n);
      return genesis !== undefined && parseBlock(genesis).first + parseBlock(genesis).count === 0n;
    }
    const b = await this.sealingBlock(size - 1n);
    return b !== undefined && b.first + b.count === size;
  }

  /** latestProving returns the latest checkpoint: its size and its note with the witness cosignatures it has so far. */
  async latestProving(): Promise<Proving> {
    const { block } = this.latest();
    return { size: block.first + block.count, note: cosignedNote(block.checkpoint, await this.cosignatures.linesAt(block.height)) };
  }

  /**
   * waitWitnessed waits (up to `timeoutMs`) for a checkpoint covering `size` entries, and with
   * witnesses also (at most one witness round trip) for one cosigned to quorum. Throws
   * WaitTimeoutError / LogClosedError when no checkpoint covers `size`; a witness outage only
   * means fewer cosignatures.
   */
  async waitWitnessed(size: bigint, timeoutMs: number): Promise<void> {
    const w = this.witnesses;
    if (w === undefined || w.count === 0) {
      await this.publisher.waitFor(size, timeoutMs);
      return;
    }
    const deadline = Date.now() + timeoutMs;
    // One wait for the quorum in all (at most one witness round trip), however it is split below.
    const quorumDeadline = Math.min(deadline, Date.now() + this.#witnessTimeoutMs + 250);
    const quorumWait = () => Math.max(0, quorumDeadline - Date.now());
    // With a round in flight, the checkpoint covering `size` is published when the round ends
    // (WitnessClientOptions.publish) and is the next round's: publishing sooner would only make
    // blocks the witnesses skip, and receipts that need a consistency proof to the one they cosign.
    if (w.roundInProgress && this.checkpointSize < size) await w.waitForQuorum(size, quorumWait());
    await this.publisher.waitFor(size, Math.max(0, deadline - Date.now()));
    await w.waitForQuorum(size, quorumWait());
  }

  /**
   * proving picks the checkpoint a document covering entries below `index + 1` is proved against: the newest one cosigned
   * to the witness quorum when it covers the entry, else the latest with the cosignatures it has.
   */
  proving(index: bigint): Promise<Proving> {
    return this.#proving(index);
  }

  async #proving(index: bigint): Promise<Proving> {
    const w = this.witnesses?.witnessed;
    // The cosignatures are read from the book, not from the snapshot taken when the quorum was
    // met: a receipt fetched later carries the cosignatures that arrived since.
    if (w !== undefined && w.size > index) return { size: w.size, note: cosignedNote(w.block.checkpoint, await this.cosignatures.linesAt(w.block.height)) };
    return this.latestProving();
  }

  /**
   * sealingBlock finds the block whose range holds `index`: the latest published block (in memory,
   * where a fresh entry's receipt finds it), else a binary search (O(log blocks) reads).
   */
  async sealingBlock(index: bigint): Promise<Block | undefined> {
    const latest = this.publisher.latest?.block;
    if (latest !== undefined && latest.first <= index && index < latest.first + latest.count) return latest;
    const recent = this.#recentBlock(index);
    if (recent !== undefined) return recent;
    let lo = 0n;
    let hi = await this.store.getBlockCount();
    while (lo < hi) {
      const mid = (lo + hi) / 2n;
      const json = await this.store.getBlock(mid);
      if (json === undefined) throw new Error(`storage: block ${mid} missing`);
      const b = parseBlock(json);
      if (b.first + b.count <= index) lo = mid + 1n;
      else if (b.first > index) hi = mid;
      else return b;
    }
    return undefined;
  }

  /**
   * onBlock calls `listener` with every block published from now on, right after it is durable,
   * on the publisher's path: a listener must be cheap and must not throw (what it throws is
   * ignored). Returns the function that unsubscribes it.
   */
  onBlock(listener: (published: Published) => void): () => void {
    this.#blockListeners.add(listener);
    return () => void this.#blockListeners.delete(listener);
  }

  #emitBlock(p: Published): void {
    for (const f of this.#blockListeners) {
      try {
        f(p);
      } catch {
        // A listener's failure is its own: the block is published.
      }
    }
  }

  #rememberBlock(block: Block): void {
    const r = this.#recentBlocks;
    if (r.length > 0 && (r[r.length - 1] as Block).height + 1n !== block.height) r.length = 0;
    r.push(block);
    if (r.length > RECENT_BLOCKS) r.splice(0, r.length - RECENT_BLOCKS);
  }

  /** #recentBlock finds the block sealing `index` among the recent blocks (a binary search in memory). */
  #recentBlock(index: bigint): Block | undefined {
    const r = this.#recentBlocks;
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = r[mid] as Block;
      if (b.first + b.count <= index) lo = mid + 1;
      else if (b.first > index) hi = mid;
      else return b;
    }
    return undefined;
  }

  /**
   * receipt builds the receipt of `index` against the latest checkpoint, or undefined if not yet
   * sealed. `appended` is the entry at `index` when the caller has it (just appended it): then it
   * is not read back and decoded again.
   */
  receipt(index: bigint, appended?: AppendResult): Promise<Receipt | undefined> {
    // Tracked so that close() lets receipts already asked for finish before the store closes
    // (e.g. those of clients that waited for the final checkpoint and then disconnected).
    const p = this.#receipt(index, appended);
    this.#receipts.add(p);
    const done = () => void this.#receipts.delete(p);
    p.then(done, done);
    return p;
  }

  async #receipt(index: bigint, appended: AppendResult | undefined): Promise<Receipt | undefined> {
    if (index >= this.checkpointSize) return undefined;
    const proving = await this.#proving(index);
    const size = proving.size;
    if (appended !== undefined && appended.index !== index) throw new Error(`ledger: receipt of ${index} given the entry at ${appended.index}`);
    const [entry, block, proof] = await Promise.all([appended?.entry ?? this.getEntry(index).then((e) => e?.entry), this.sealingBlock(index), this.inclusionProof(index, size)]);
    if (entry === undefined || block === undefined) throw new Error(`storage: entry or block for ${index} missing`);
    // Empty (no read) when the block is the latest checkpoint's own, as for a fresh entry; and no
    // read for the stamp while nothing at or after the sealing block is stamped.
    const [consistency, timestamp] = await Promise.all([this.consistencyProof(block.first + block.count, size), this.stampFor(block.height, size)]);
    return buildReceipt({
      index,
      entry: entry as unknown as Record<string, unknown>,
      inclusionProof: proof.path.map(fromHexHash),
      checkpoint: proving.note,
      block,
      blockConsistency: consistency.path.map(fromHexHash),
      timestamp,
      verifierKey: this.verifierKey,
    });
  }

  /**
   * stampFor returns the time stamp of an entry sealed in block `sealingHeight`, for a document
   * proved against the checkpoint of `provingSize` (SPEC.md#time-stamps), or null if none yet.
   */
  stampFor(sealingHeight: bigint, provingSize: bigint): Promise<Stamp | null> {
    return this.stamps.stampFor(sealingHeight, provingSize, async (from, to) => (await this.consistencyProof(from, to)).path.map(fromHexHash));
  }

  /** waitForReceipt resolves with the receipt once a checkpoint covers `index`. */
  async waitForReceipt(index: bigint, timeoutMs: number): Promise<Receipt> {
    await this.waitWitnessed(index + 1n, timeoutMs);
    const r = await this.receipt(index);
    if (r === undefined) throw new Error(`ledger: entry ${index} not covered after waiting`);
    return r;
  }

  /** close drains queued submissions, publishes a final checkpoint, and closes the store. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        await this.sequencer.close();
        await this.publisher.stop();
        await this.witnesses?.stop();
      } finally {
        // After the final checkpoint, so it is summarized too; never throws.
        await this.summaries?.close();
        // The final checkpoint released its waiters: let them ask for their receipts (a turn of
        // the event loop), then let those receipts finish reading before the store closes.
        await new Promise((r) => setImmediate(r));
        await Promise.allSettled([...this.#receipts]);
        // Even when the final checkpoint could not be published (e.g. the disk is full): every
        // acknowledged entry is durable, and the next start publishes it.
        await this.store.close();
      }
    })();
    return this.#closing;
  }
}

/** hashHex is toHex for the hashes acknowledged per entry: Node's native encoder, a flat string (a third of the time). */
function hashHex(h: Uint8Array): string {
  return Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('hex');
}

function fromHexHash(h: string): Uint8Array {
  return fromHex(h, 32);
}
