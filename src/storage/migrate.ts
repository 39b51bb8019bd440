/**
 * migrateStore: upgrade a data directory's store from layout 1 (keys.ts) to layout 2 (layout2.ts),
 * crash-safe (contracts-free-ledger/SPEC.md#storage, "Layout 2"; docs/storage-v2.md, "Migrating
 * from layout 1"). The old store is only read. Layout 2 is written beside it, in
 * `<ledger>.migrating`, in four steps:
 *
 * 1. entries: layout 1's `e` keys in order, in batches of a few thousand, each with its leaf
 *    hashes (the level-0 nodes `n‖0‖i`), the stored nodes that complete inside the batch and one
 *    content digest per entry (from the entry itself), written by {@link LevelStore.appendBatch}:
 *    the code path the log writes with, one synced batch each. A restart resumes at the new
 *    store's own size.
 * 2. copy: every other key except layout 1's `n`, `d`, `l` and `s:size`, verbatim (attachments,
 *    secondary indexes, blocks, evidence, meta, API keys, records, `s:blocks`), in synced batches;
 *    a restart clears what an earlier run copied and copies again.
 * 3. verify: same size, same root (the right edge read from the tiles against layout 1's `n` keys),
 *    the copied keys equal one for one, entries and lookups of a sample equal.
 * 4. the completion marker file, then the swap by rename (migrate-swap.ts), which
 *    {@link finishMigration} completes after a crash at any point.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { equalBytes, toHex } from '../core/bytes.js';
import { decodeEntry } from '../core/entry/codec.js';
import { foldRight, rightEdge } from '../core/merkle/compact.js';
import type { NodeHash } from '../core/merkle/node.js';
import { C2SP, suiteOfDigestAlg, type CryptoSuite } from '../core/suite.js';
import { PREFIX, SIZE_KEY, decodeU64, indexOfKey, indexRange, nodeKey } from './keys.js';
import { LevelStore } from './level.js';
import type { AppendBatch } from './store.js';
import { openLevel, type Db, type LevelStoreOptions } from './level-handle.js';
import { StoreLayoutError, storedLayout } from './level-layout.js';
import { copyUnchanged, compareUnchanged } from './migrate-copy.js';
import { finishMigration, hasMarker, killPoint, migrationPaths, writeMarker } from './migrate-swap.js';

export { finishMigration, migrationPaths, MIGRATED_MARKER } from './migrate-swap.js';

/** Where a migration is: the step, and entries (step `entries`) or keys (step `copy`) done so far. */
export interface MigrateProgress {
  readonly phase: 'entries' | 'copy' | 'verify' | 'swap';
  readonly done: bigint;
  /** Entries in the log (step `entries`); 0n when unknown. */
  readonly total: bigint;
}

/** Options of {@link migrateStore}. */
export interface MigrateOptions {
  /** Called after each batch and at each step (may throw to stop the migration: it resumes later). */
  readonly onProgress?: (p: MigrateProgress) => void;
  /** Entries per synced batch (default 4,096: 16 entry bundles). */
  readonly batch?: number;
}

/** What {@link migrateStore} did. */
export interface MigrateResult {
  /** `migrated`; `already` (layout 2); `empty` (nothing stored: it becomes layout 2 when first opened). */
  readonly status: 'migrated' | 'already' | 'empty';
  readonly ledger: string;
  /** The old store, kept (status `migrated`). */
  readonly old?: string;
  readonly size: bigint;
  /** Entries already migrated by an earlier, interrupted run. */
  readonly resumedAt: bigint;
}

const DEFAULT_BATCH = 4096;

/**
 * migrateStore upgrades the layout-1 store at `ledgerDir` (a data directory's `ledger`) to layout
 * 2, keeping the old store as `<ledgerDir>.layout1`. Resumable: run it again after any crash.
 * Requires: no process has the store open (else StoreLockedError); no `<ledgerDir>.layout1` yet.
 */
export async function migrateStore(ledgerDir: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const p = migrationPaths(ledgerDir);
  const say = options.onProgress ?? (() => undefined);
  if ((await finishMigration(p.ledger)) === 'finished') {
    // A run cut short during its swap: what it verified is now in place.
    return { status: 'migrated', ledger: p.ledger, old: p.old, size: await sizeOf(p.ledger), resumedAt: 0n };
  }
  if (!existsSync(p.ledger)) throw new Error(`storage: no store at ${p.ledger}`);
  const old = await openLevel(p.ledger);
  let size: bigint;
  let resumedAt: bigint;
  try {
    const layout = await storedLayout(old);
    if (layout === 2) return { status: 'already', ledger: p.ledger, size: await readSize(old), resumedAt: 0n };
    if (layout === undefined) return { status: 'empty', ledger: p.ledger, size: 0n, resumedAt: 0n };
    if (layout !== 1) throw new StoreLayoutError(p.ledger, layout);
    if (existsSync(p.old)) throw new Error(`storage: ${p.old} exists (kept by an earlier migration?); move or delete it before migrating ${p.ledger}`);
    if (hasMarker(p.ledger)) throw new Error(`storage: ${p.ledger} is marked migrated but holds layout 1; restore it by hand`);
    size = await readSize(old);
    resumedAt = await copyEntries(old, p.migrating, size, options.batch ?? DEFAULT_BATCH, say);
    const target = await openLevel(p.migrating);
    try {
      await copyUnchanged(old, target, (done) => say({ phase: 'copy', done, total: 0n }));
    } finally {
      await target.close();
    }
    killPoint('copied');
    say({ phase: 'verify', done: size, total: size });
    await verify(old, p.migrating, size);
  } finally {
    await old.close();
  }
  writeMarker(p.migrating, `${JSON.stringify({ from: 1, to: 2, entries: size.toString(), migratedFrom: p.ledger })}\n`);
  killPoint('marker');
  say({ phase: 'swap', done: size, total: size });
  await finishMigration(p.ledger);
  return { status: 'migrated', ledger: p.ledger, old: p.old, size, resumedAt };
}

/**
 * migrateReporting runs {@link migrateStore} on `ledgerDir`, telling `say` (a line each, no newline)
 * where it is at most every `everyMs` and at each step (entries done / total, entries per second),
 * and at the end where the old store was kept. Used by `guzheng migrate` and by the service when
 * it starts on a layout-1 store. Requires: as migrateStore.
 */
export async function migrateReporting(ledgerDir: string, say: (line: string) => void, everyMs = 1000): Promise<MigrateResult> {
  const started = performance.now();
  let last = -Infinity;
  let phase = '';
  let from = 0n;
  let held: MigrateProgress | undefined;
  const line = (p: MigrateProgress): void => {
    const s = (performance.now() - started) / 1000;
    if (p.phase === 'entries') {
      const pct = p.total === 0n ? 100 : Number((p.done * 1000n) / p.total) / 10;
      say(`migrate: entries ${p.done.toLocaleString('en')} / ${p.total.toLocaleString('en')} (${pct} %), ${Math.round(Number(p.done - from) / Math.max(s, 1e-3)).toLocaleString('en')} entries/s`);
    } else if (p.phase === 'copy') {
      say(`migrate: copied ${p.done.toLocaleString('en')} keys of attachments, secondary indexes, blocks, evidence and settings`);
    } else {
      say(p.phase === 'verify' ? 'migrate: verifying the new store against the old one' : 'migrate: verified; swapping the directories');
    }
  };
  const result = await migrateStore(ledgerDir, {
    onProgress: (p) => {
      const now = performance.now();
      if (p.phase === phase && now - last < everyMs && !(p.phase === 'entries' && p.done === p.total)) {
        held = p;
        return;
      }
      // A step's last report, if it was held back, before the next step's first.
      if (p.phase !== phase && held !== undefined) line(held);
      if (p.phase === 'entries' && phase !== 'entries') from = p.done;
      held = undefined;
      phase = p.phase;
      last = now;
      line(p);
    },
  });
  const s = ((performance.now() - started) / 1000).toFixed(1);
  if (result.status === 'migrated') {
    say(`migrate: ${result.ledger} now holds storage layout 2 (${result.size.toLocaleString('en')} entries, ${s} s)`);
    say(`migrate: the layout-1 store is kept as ${result.old}; delete it once you are satisfied`);
  }
  return result;
}

/**
 * openUpgrading opens the store at `ledgerDir` as {@link LevelStore.open} does, and when it holds
 * layout 1 upgrades it in place first ({@link migrateReporting}, messages to `say`): what the
 * service does at start. An upgrade cut short resumes at the next start.
 */
export async function openUpgrading(ledgerDir: string, options: LevelStoreOptions, say: (line: string) => void): Promise<LevelStore> {
  try {
    return await LevelStore.open(ledgerDir, options);
  } catch (err) {
    if (!(err instanceof StoreLayoutError) || err.layout !== 1) throw err;
    say(`storage: ${resolve(ledgerDir)} holds storage layout 1; upgrading it to layout 2 before starting (crash-safe: an interrupted upgrade resumes at the next start)`);
    await migrateReporting(ledgerDir, say);
    return LevelStore.open(ledgerDir, options);
  }
}

async function readSize(db: Db): Promise<bigint> {
  const v = await db.get(SIZE_KEY);
  if (v === undefined) return 0n;
  if (v.length !== 8) throw new Error(`storage: s:size value is ${v.length} bytes, want 8`);
  return decodeU64(v);
}

async function sizeOf(dir: string): Promise<bigint> {
  const store = await LevelStore.open(dir);
  try {
    return await store.getSize();
  } finally {
    await store.close();
  }
}

/** readFamily reads keys `family ‖ u64be(i)` for i in [from, to), all present (else corruption). */
async function readFamily(db: Db, family: Uint8Array, from: bigint, to: bigint, what: string): Promise<Uint8Array[]> {
  const rows = await db.iterator(indexRange(family, from, to)).all();
  if (BigInt(rows.length) !== to - from) throw new Error(`storage: layout-1 ${what} [${from}, ${to}) incomplete: ${rows.length} of ${to - from}`);
  return rows.map(([k, v], i) => {
    if (indexOfKey(k) !== from + BigInt(i)) throw new Error(`storage: layout-1 ${what} ${from + BigInt(i)} missing`);
    return new Uint8Array(v);
  });
}

/** The crypto suite of a log, from its first entry's digest algorithm (its tree hashing). */
async function suiteOf(old: Db, size: bigint): Promise<CryptoSuite> {
  if (size === 0n) return C2SP;
  const [first] = await readFamily(old, PREFIX.entry, 0n, 1n, 'entry');
  const alg = decodeEntry(first as Uint8Array).digest.alg;
  const suite = suiteOfDigestAlg(alg);
  if (suite === undefined) throw new Error(`storage: entry 0 has digest algorithm ${alg}, of no crypto suite`);
  return suite;
}

/**
 * readBatch reads entries [first, end) of the layout-1 store as the batch a sequencer's flush of
 * them would have written: the entries, their leaf hashes (nodes `n‖0‖i`, cross-checked against
 * the entries), the nodes completing in (first, end] and one content digest per entry.
 */
async function readBatch(old: Db, suite: CryptoSuite, first: bigint, end: bigint): Promise<AppendBatch> {
  const entries = await readFamily(old, PREFIX.entry, first, end, 'entry');
  // The nodes completing in (first, end]: at level h, indexes [first >> h, end >> h); none at
  // level h means none above it either (SPEC.md#tree: node (h, j) covers leaves [j·2^h, (j+1)·2^h)).
  const nodes: NodeHash[] = [];
  let leafHashes: Uint8Array[] = [];
  for (let h = 0; h < 64; h++) {
    const lo = first >> BigInt(h);
    const hi = end >> BigInt(h);
    if (hi <= lo) break;
    const hashes = await readFamily(old, nodeKey(h, 0n).subarray(0, 2), lo, hi, `level-${h} node`);
    if (h === 0) leafHashes = hashes;
    hashes.forEach((hash, i) => nodes.push({ level: h, index: lo + BigInt(i), hash }));
  }
  const digests = entries.map((e, i) => {
    const index = first + BigInt(i);
    // A leaf that is not its entry's hash is corruption in the source, not migrated.
    if (!equalBytes(suite.tree.hashLeaf(e), leafHashes[i] as Uint8Array)) throw new Error(`storage: layout-1 node 0/${index} is not the leaf hash of entry ${index}`);
    const d = decodeEntry(e).digest;
    return { alg: d.alg, hex: d.hex, index };
  });
  return { first, entries, leafHashes, nodes, digests, attachments: [] };
}

/**
 * copyEntries writes entries [new size, size) of the layout-1 store into the layout-2 store at
 * `dir` through appendBatch, `batch` entries per synced write; returns where it started.
 */
async function copyEntries(old: Db, dir: string, size: bigint, batch: number, say: (p: MigrateProgress) => void): Promise<bigint> {
  const suite = await suiteOf(old, size);
  const store = await LevelStore.open(dir);
  try {
    const start = await store.getSize();
    if (start > size) throw new Error(`storage: ${dir} holds ${start} entries, more than the ${size} being migrated: not a migration of this store; delete it`);
    say({ phase: 'entries', done: start, total: size });
    const step = BigInt(batch);
    const upTo = (first: bigint) => (first + step < size ? first + step : size);
    // The next batch is read while this one is written (the source is not written to).
    let next = start < size ? readBatch(old, suite, start, upTo(start)) : undefined;
    for (let first = start; first < size; first = upTo(first)) {
      const b = await (next as Promise<AppendBatch>);
      const end = upTo(first);
      next = end < size ? readBatch(old, suite, end, upTo(end)) : undefined;
      // A failed read ahead is reported by the iteration that awaits it.
      next?.catch(() => undefined);
      await store.appendBatch(b);
      say({ phase: 'entries', done: end, total: size });
    }
    // Let the index merges a long run of flushes started finish before the store is handed over.
    await store.indexesIdle();
    return start;
  } finally {
    await store.close();
  }
}

/**
 * verify checks the layout-2 store at `dir` against the layout-1 source: size, right edge and
 * root, the copied keys one for one, and a sample of entries, leaf-hash and digest lookups.
 */
async function verify(old: Db, dir: string, size: bigint): Promise<void> {
  const suite = await suiteOf(old, size);
  const store = await LevelStore.open(dir);
  try {
    const got = await store.getSize();
    if (got !== size) throw new Error(`storage: migrated store holds ${got} entries, want ${size}`);
    const edge = rightEdge(size);
    const want = await old.getMany(edge.map((id) => nodeKey(id.level, id.index)));
    const have = await store.readNodes(edge);
    want.forEach((w, i) => {
      if (w === undefined) throw new Error(`storage: layout-1 node ${edge[i]?.level}/${edge[i]?.index} missing`);
    });
    const wantRoot = foldRight(want as Uint8Array[], suite.tree) ?? suite.tree.emptyRoot();
    const haveRoot = foldRight(have, suite.tree) ?? suite.tree.emptyRoot();
    if (!equalBytes(wantRoot, haveRoot)) throw new Error(`storage: migrated root ${toHex(haveRoot)}, want ${toHex(wantRoot)}`);
    const sample = new Set<bigint>();
    for (let k = 0n; k < 16n && size > 0n; k++) sample.add((size * k) / 16n);
    if (size > 0n) sample.add(size - 1n);
    for (const i of sample) {
      const [entry] = await readFamily(old, PREFIX.entry, i, i + 1n, 'entry');
      const [migrated] = await store.getEntries(i, 1);
      if (migrated === undefined || !equalBytes(migrated, entry as Uint8Array)) throw new Error(`storage: migrated entry ${i} differs`);
      const [leaf] = await readFamily(old, nodeKey(0, 0n).subarray(0, 2), i, i + 1n, 'leaf');
      if (!(await store.lookupLeafHash(leaf as Uint8Array)).includes(i)) throw new Error(`storage: migrated leaf-hash index misses entry ${i}`);
      const d = decodeEntry(entry as Uint8Array).digest;
      if (!(await store.lookupDigest(d.alg, d.hex)).includes(i)) throw new Error(`storage: migrated digest index misses entry ${i}`);
    }
  } finally {
    await store.close();
  }
  const db = await openLevel(dir);
  try {
    await compareUnchanged(old, db);
  } finally {
    await db.close();
  }
}
