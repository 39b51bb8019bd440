/**
 * Scenario 1 (append through the library API, concurrent submitters) and scenario 7 (bytes on
 * disk per entry). The baseline writes the very same bytes (every entry's leaf data and
 * attachment, read back from the ledger) straight into a fresh `level` database in chained
 * batches of 1,000 entries, each committed with `sync: true`: the storage limit for this payload.
 */
import { join } from 'node:path';
import { Level } from 'level';
import { generateSignerKey } from '../../src/core/note.js';
import { Ledger } from '../../src/log/ledger.js';
import { PREFIX, attachmentKey, entryKey, indexOfKey, prefixRange } from '../../src/storage/keys.js';
import { LevelStore } from '../../src/storage/level.js';
import { duBytes, entryInput, log, packDigests, rateRow, since, tempDir, type Row, type Sizes } from './common.js';

/** The bench log's key (fixed seed: the same key every run). */
export const BENCH_KEYS = generateSignerKey('bench.guzheng.example/log', new Uint8Array(32).fill(7));

/** What scenario 1 leaves behind for scenarios 5–7: a closed ledger and its payload sizes. */
export interface BuiltLedger {
  /** The data directory's LevelDB (`ledger/`). */
  readonly dir: string;
  readonly entries: number;
  /** Sum of the entries' leaf bytes. */
  readonly entryBytes: number;
  /** Sum of the attachments' bytes (JSON records). */
  readonly attachmentBytes: number;
}

type Db = Level<Uint8Array, Uint8Array>;

/**
 * Rows read back from LevelDB, packed into a few large buffers: a million separately allocated
 * small ArrayBuffers would slow every garbage collection of the process (V8 tracks each one), and
 * the baselines would measure that instead of the storage.
 */
class PackedRows {
  readonly #chunks: Array<{ keys: Uint8Array; keyEnds: Uint32Array; values: Uint8Array; valueEnds: Uint32Array }> = [];
  length = 0;

  add(rows: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): void {
    const pack = (pick: 0 | 1) => {
      let total = 0;
      for (const r of rows) total += r[pick].length;
      const bytes = new Uint8Array(total);
      const ends = new Uint32Array(rows.length);
      let off = 0;
      rows.forEach((r, i) => {
        bytes.set(r[pick], off);
        off += r[pick].length;
        ends[i] = off;
      });
      return { bytes, ends };
    };
    const k = pack(0);
    const v = pack(1);
    this.#chunks.push({ keys: k.bytes, keyEnds: k.ends, values: v.bytes, valueEnds: v.ends });
    this.length += rows.length;
  }

  /** The rows in key order, as views into the packed buffers. */
  *rows(): Generator<[Uint8Array, Uint8Array]> {
    for (const c of this.#chunks) {
      let ks = 0;
      let vs = 0;
      for (let i = 0; i < c.keyEnds.length; i++) {
        const ke = c.keyEnds[i] as number;
        const ve = c.valueEnds[i] as number;
        yield [c.keys.subarray(ks, ke), c.values.subarray(vs, ve)];
        ks = ke;
        vs = ve;
      }
    }
  }
}

async function readAll(db: Db, family: Uint8Array, into = new PackedRows()): Promise<PackedRows> {
  const it = db.iterator({ ...prefixRange(family), highWaterMarkBytes: 16 << 20 });
  try {
    for (;;) {
      const rows = await it.nextv(65_536);
      if (rows.length === 0) break;
      into.add(rows);
    }
  } finally {
    await it.close();
  }
  return into;
}

/** rawBaseline writes entries (and attachments) in synced chained batches of 1,000; entries/s. */
async function rawBaseline(entries: readonly Uint8Array[], attachments: ReadonlyMap<number, Uint8Array>): Promise<{ rate: number; diskBytes: number }> {
  const dir = tempDir('raw');
  const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const t0 = performance.now();
  for (let i = 0; i < entries.length; i += 1000) {
    const wb = db.batch();
    for (let j = i; j < Math.min(entries.length, i + 1000); j++) {
      wb.put(entryKey(BigInt(j)), entries[j] as Uint8Array);
      const a = attachments.get(j);
      if (a !== undefined) wb.put(attachmentKey(BigInt(j)), a);
    }
    await wb.write({ sync: true });
  }
  const rate = entries.length / since(t0);
  await db.close();
  return { rate, diskBytes: duBytes(dir) };
}

/**
 * layoutFloor rewrites every key and value the ledger stored (layout 2: entry bundles, tiles,
 * digest bundles, index runs, attachments, case index, size) into a fresh `level` database, in
 * key order, spread over as many synced chained batches as the ledger's flushes: the storage limit
 * of Guzheng's key layout for this log, with no validation, hashing or encoding at all. (The
 * ledger rewrites each partial tail bundle and tile, so it writes more bytes than this floor.)
 * Diagnostic only.
 */
async function layoutFloor(db: Db, n: number, flushes: number): Promise<{ rate: number; keysPerEntry: number }> {
  const rows = new PackedRows();
  const it = db.iterator({ highWaterMarkBytes: 16 << 20 });
  try {
    for (;;) {
      const got = await it.nextv(65_536);
      if (got.length === 0) break;
      rows.add(got);
    }
  } finally {
    await it.close();
  }
  const out: Db = new Level<Uint8Array, Uint8Array>(tempDir('floor'), { keyEncoding: 'view', valueEncoding: 'view' });
  await out.open();
  const perBatch = Math.max(1, Math.ceil(rows.length / Math.max(1, flushes)));
  const t0 = performance.now();
  let wb = out.batch();
  let inBatch = 0;
  for (const [k, v] of rows.rows()) {
    wb.put(k, v);
    if (++inBatch === perBatch) {
      await wb.write({ sync: true });
      wb = out.batch();
      inBatch = 0;
    }
  }
  await wb.write({ sync: true });
  const rate = n / since(t0);
  await out.close();
  return { rate, keysPerEntry: rows.length / n };
}

/** benchAppend runs scenario 1 and 7 and returns their rows and the ledger it built. */
export async function benchAppend(sizes: Sizes): Promise<{ rows: Row[]; built: BuiltLedger }> {
  const n = sizes.appendEntries;
  log(`1: ${n} entries, ${sizes.submitters} concurrent submitters through Ledger.append`);
  const digests = packDigests(n);
  const dir = join(tempDir('append'), 'ledger');
  const store = await LevelStore.open(dir);
  const ledger = await Ledger.open({ store, signerKey: BENCH_KEYS.signerKey, checkpointIntervalMs: 200 });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: sizes.submitters }, async (_, c) => {
      const submitter = `officer-${c % 16}`;
      for (let i = next++; i < n; i = next++) await ledger.append([entryInput(i, digests.hexAt(i))], submitter);
    }),
  );
  const seconds = since(t0);
  const stats = { ...ledger.sequencer.stats };
  await ledger.close();
  const rate = n / seconds;
  log(`1: ${Math.round(rate)} entries/s (${stats.flushes} fsynced flushes, ${(stats.entries / stats.flushes).toFixed(0)} entries each)`);

  // The same bytes, read back, for the baseline and the storage figures.
  const reread = await LevelStore.open(dir);
  const entries: Uint8Array[] = [];
  let entryBytes = 0;
  for (let i = 0; i < n; i += 4096) {
    for (const e of await reread.getEntries(BigInt(i), 4096)) {
      entries.push(e);
      entryBytes += e.length;
    }
  }
  await reread.close();
  const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  const attachmentRows = await readAll(db, PREFIX.attachment);
  log('1: diagnostic: raw level rewrite of every key the ledger stored');
  const floor = await layoutFloor(db, n, stats.flushes);
  log(`1: layout floor ${Math.round(floor.rate)} entries/s (${floor.keysPerEntry.toFixed(2)} keys per entry)`);
  await db.close();
  const attachments = new Map<number, Uint8Array>();
  let attachmentBytes = 0;
  for (const [k, v] of attachmentRows.rows()) {
    attachments.set(Number(indexOfKey(k)), v);
    attachmentBytes += v.length;
  }
  if (entries.length !== n) throw new Error(`bench: read back ${entries.length} entries, want ${n}`);

  log('1: baseline: raw level chained batches of 1,000, sync: true');
  const raw = await rawBaseline(entries, attachments);
  log(`1: baseline ${Math.round(raw.rate)} entries/s`);
  const disk = duBytes(dir);
  const append = rateRow({
    scenario: '1 append, library API',
    metric: `${n.toLocaleString('en-US')} entries, ${sizes.submitters} concurrent single-entry submitters`,
    value: rate,
    unit: 'entries/s',
    baseline: { name: 'raw level, same bytes, synced batches of 1,000', value: raw.rate, unit: 'entries/s' },
    goal: 'ratio ≥ 0.5',
    note: `${stats.flushes} fsynced flushes, ${(stats.entries / stats.flushes).toFixed(0)} entries each on average. Storage limit of Guzheng's own key layout (every key it stored, ${floor.keysPerEntry.toFixed(2)} per entry, rewritten raw in as many synced batches): ${Math.round(floor.rate).toLocaleString('en-US')} entries/s = ${(rate / floor.rate).toFixed(2)} of it`,
  });
  const rows: Row[] = [{ ...append, met: (append.ratio ?? 0) >= 0.5 }];
  rows.push({
    scenario: '7 storage',
    metric: `bytes on disk per entry at ${n.toLocaleString('en-US')}`,
    value: disk / n,
    unit: 'B/entry',
    baseline: { name: 'raw entry bytes (leaf data + attachment)', value: (entryBytes + attachmentBytes) / n, unit: 'B/entry' },
    ratio: disk / (entryBytes + attachmentBytes),
    note: `leaf data alone ${(entryBytes / n).toFixed(0)} B/entry; the raw-level baseline directory ${(raw.diskBytes / n).toFixed(0)} B/entry; ratio = disk / raw (lower is better)`,
  });
  return { rows, built: { dir, entries: n, entryBytes, attachmentBytes } };
}
