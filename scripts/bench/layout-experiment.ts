/**
 * Storage layout experiment for issue 17 (storage layout v2): the LevelDB write cost of candidate
 * key layouts, with no ledger code at all, against the raw baseline of scenario 1 (every entry's
 * leaf bytes, and a third of them an attachment, one key each, synced chained batches of 1,000).
 * Each layout writes the same synthetic payload (random bytes of the sizes scenario 1 stores) in
 * synced batches of 1,000 entries, as the sequencer's flushes do under load:
 *
 * - `v1`: today's layout (src/storage/keys.ts): per entry `e`, level-0 node, the upper nodes it
 *   completes, `l` (leaf hash), `d` (digest), and for a third each `a` and `x`;
 * - `v1-no-hash-index`: v1 without `l` and `d` (the two hash-keyed families);
 * - `v2`: entries in bundles of 256 (one key per bundle, the partial tail bundle rewritten by the
 *   next batch), tree nodes in tiles (per tile: the 256 hashes of its base level and the 255 above
 *   them inside the tile, so any node is one read; the partial tail tile rewritten), attachments
 *   per entry, `x` per entry for a third, `l` and `d` in the same synced batch;
 * - `v2-lazy-index`: v2 with `l` and `d` written to a SECOND LevelDB, unsynced, in the background
 *   (the append rate is the main database's; the index database's catch-up time is reported);
 * - `v2-run-index`: v2 with `l` and `d` as sorted runs (src/storage/run-index.ts) instead of a key
 *   per entry: each batch writes, in its synced batch, one run per index (its entries' 8-byte hash
 *   prefixes and 5-byte indexes, sorted, in pages of 256 records under sequential keys), and a
 *   background merger, unsynced, folds every 8 runs of a level into one of the next;
 * - `v2-no-hash-index`: v2 without `l` and `d` (the ceiling).
 *
 * Run: `npx tsx scripts/bench/layout-experiment.ts [entries=1000000] [layouts,...]`. Prints a table
 * (entries/s, ratio to the raw baseline, keys per entry, bytes on disk per entry) and writes
 * bench/layout-experiment.json. Diagnostic: not part of `npm run bench`.
 */
import { randomFillSync } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Level } from 'level';
import { RunIndex, type RunStore } from '../../src/storage/run-index.js';
import { duBytes, since, tempDir } from './common.js';

type Db = Level<Uint8Array, Uint8Array>;

const BATCH = Number(process.env.GUZHENG_LAYOUT_BATCH ?? 1000);
const BUNDLE = 256;
const ENTRY_BYTES = 272;
const ATTACHMENT_BYTES = 160;

function key(prefix: string, ...parts: Array<number | Uint8Array>): Uint8Array {
  const chunks: Uint8Array[] = [new TextEncoder().encode(prefix)];
  for (const p of parts) {
    if (p instanceof Uint8Array) chunks.push(p);
    else {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigUint64(0, BigInt(p));
      chunks.push(b);
    }
  }
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let off = 0;
  for (const c of chunks) out.set(c, off), (off += c.length);
  return out;
}

/** The synthetic payload: entries, their hashes and digests, a third with an attachment. */
function payload(n: number): { entries: Uint8Array; hashes: Uint8Array; digests: Uint8Array; attachment: Uint8Array } {
  const entries = randomFillSync(new Uint8Array(n * ENTRY_BYTES));
  return { entries, hashes: randomFillSync(new Uint8Array(n * 32)), digests: randomFillSync(new Uint8Array(n * 32)), attachment: randomFillSync(new Uint8Array(ATTACHMENT_BYTES)) };
}

type Payload = ReturnType<typeof payload>;
const entry = (p: Payload, i: number) => p.entries.subarray(i * ENTRY_BYTES, (i + 1) * ENTRY_BYTES);
const hash = (p: Payload, i: number) => p.hashes.subarray(i * 32, (i + 1) * 32);
const digest = (p: Payload, i: number) => p.digests.subarray(i * 32, (i + 1) * 32);
const EMPTY = new Uint8Array(0);

interface Result {
  readonly layout: string;
  readonly rate: number;
  readonly keysPerEntry: number;
  readonly diskPerEntry: number;
  readonly note?: string;
}

/** LevelDB's write buffer for the candidate layouts (GUZHENG_LAYOUT_WRITE_BUFFER_MB; the baseline keeps the default 4 MiB). */
const WRITE_BUFFER = Number(process.env.GUZHENG_LAYOUT_WRITE_BUFFER_MB ?? 4) * 1024 * 1024;

async function open(dir: string, tuned = true): Promise<Db> {
  const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view', ...(tuned ? { writeBufferSize: WRITE_BUFFER } : {}) });
  await db.open();
  return db;
}

/** run writes batches of BATCH entries with `put(batch, i)` per entry and `end(batch, first, end)` per batch. */
async function run(
  layout: string,
  n: number,
  perEntry: (put: (k: Uint8Array, v: Uint8Array) => void, i: number) => void,
  perBatch: (put: (k: Uint8Array, v: Uint8Array) => void, first: number, end: number) => void = () => undefined,
  afterBatch: (first: number, end: number) => void = () => undefined,
  around: { opened?: (db: Db) => Promise<void> | void; closing?: () => Promise<string> } = {},
): Promise<Result> {
  const dir = tempDir(`layout-${layout}`);
  const db = await open(dir, layout !== 'raw baseline');
  await around.opened?.(db);
  let keys = 0;
  const t0 = performance.now();
  for (let first = 0; first < n; first += BATCH) {
    const end = Math.min(n, first + BATCH);
    const wb = db.batch();
    const put = (k: Uint8Array, v: Uint8Array) => (wb.put(k, v), keys++);
    for (let i = first; i < end; i++) perEntry(put, i);
    perBatch(put, first, end);
    await wb.write({ sync: true });
    afterBatch(first, end);
  }
  const rate = n / since(t0);
  const note = await around.closing?.();
  await db.close();
  return { layout, rate, keysPerEntry: keys / n, diskPerEntry: duBytes(dir) / n, ...(note !== undefined ? { note } : {}) };
}

/** The upper nodes entry i completes (a node at level h ≥ 1 ends at leaf i when (i + 1) % 2^h === 0). */
function completes(i: number): number[] {
  const out: number[] = [];
  for (let h = 1; (i + 1) % 2 ** h === 0; h++) out.push(h);
  return out;
}

function v1(p: Payload, n: number, hashIndexes: boolean): Promise<Result> {
  return run(hashIndexes ? 'v1' : 'v1-no-hash-index', n, (put, i) => {
    put(key('e', i), entry(p, i));
    put(key('n', new Uint8Array([0]), i), hash(p, i));
    for (const h of completes(i)) put(key('n', new Uint8Array([h]), ((i + 1) >> h) - 1), hash(p, (i * 7 + h) % n));
    if (hashIndexes) {
      put(key('l', hash(p, i), i), EMPTY);
      put(key('d', new TextEncoder().encode('sha256\0'), digest(p, i), i), EMPTY);
    }
    if (i % 3 === 0) put(key('a', i), p.attachment);
    if (i % 3 === 1) put(key('x', new TextEncoder().encode(`case\0衡环罚〔2026〕${i >> 6}号\0`), i), EMPTY);
  });
}

/**
 * bundlesAndTiles puts, for the batch [first, end), the entry bundles that hold it (the first one
 * rewritten whole if it began in an earlier batch) and the level-0 tiles likewise, plus an upper
 * tile for every 256 level-0 tiles.
 */
function bundlesAndTiles(p: Payload, put: (k: Uint8Array, v: Uint8Array) => void, first: number, end: number, bundles = true): void {
  for (let b = Math.floor(first / BUNDLE); b * BUNDLE < end; b++) {
    const lo = b * BUNDLE;
    const hi = Math.min(end, lo + BUNDLE);
    if (bundles) {
      // A bundle: u16 lengths then the entries (a real one would be length-prefixed the same way).
      const bundle = new Uint8Array(2 * (hi - lo) + (hi - lo) * ENTRY_BYTES);
      for (let i = lo; i < hi; i++) bundle.set(entry(p, i), 2 * (hi - lo) + (i - lo) * ENTRY_BYTES);
      put(key('E', b), bundle);
    }
    // The tile of the same 256 leaves: 256 base hashes + the nodes above them in the tile.
    const tile = new Uint8Array(32 * (2 * (hi - lo) - 1));
    tile.set(p.hashes.subarray(lo * 32, hi * 32));
    put(key('T', new Uint8Array([0]), b), tile);
    if ((hi % (BUNDLE * BUNDLE)) === 0) put(key('T', new Uint8Array([1]), hi / (BUNDLE * BUNDLE) - 1), new Uint8Array(32 * 511));
  }
}

/** v2 writes bundles and tiles ({@link bundlesAndTiles}); `l`/`d` per entry unless `hashIndexes` is false. */
function v2(p: Payload, n: number, name: string, hashIndexes: boolean, afterBatch?: (first: number, end: number) => void): Promise<Result> {
  return run(
    name,
    n,
    (put, i) => {
      if (hashIndexes) {
        put(key('l', hash(p, i), i), EMPTY);
        put(key('d', new TextEncoder().encode('sha256\0'), digest(p, i), i), EMPTY);
      }
      if (i % 3 === 0) put(key('a', i), p.attachment);
      if (i % 3 === 1) put(key('x', new TextEncoder().encode(`case\0衡环罚〔2026〕${i >> 6}号\0`), i), EMPTY);
    },
    (put, first, end) => bundlesAndTiles(p, put, first, end),
    afterBatch,
  );
}

/** v2 with `l`/`d` in a second database, unsynced, written by a background loop as batches land. */
async function v2LazyIndex(p: Payload, n: number): Promise<Result> {
  const indexDir = tempDir('layout-index');
  const index = await open(indexDir);
  const queue: Array<[number, number]> = [];
  let wake: (() => void) | undefined;
  let done = false;
  let indexedAt = 0;
  const writer = (async () => {
    for (;;) {
      if (queue.length === 0) {
        if (done) break;
        await new Promise<void>((r) => (wake = r));
        continue;
      }
      const ranges = queue.splice(0);
      const wb = index.batch();
      for (const [first, end] of ranges) {
        for (let i = first; i < end; i++) {
          wb.put(key('l', hash(p, i), i), EMPTY);
          wb.put(key('d', new TextEncoder().encode('sha256\0'), digest(p, i), i), EMPTY);
        }
        indexedAt = end;
      }
      wb.put(new TextEncoder().encode('s:indexed'), key('', indexedAt));
      await wb.write({ sync: false });
    }
  })();
  // The index writer runs beside the appends, fed each batch as it lands (as a store would).
  const main = await v2(p, n, 'v2-lazy-index', false, (first, end) => {
    queue.push([first, end]);
    wake?.();
    wake = undefined;
  });
  const lagAtEnd = n - indexedAt;
  done = true;
  wake?.();
  const t1 = performance.now();
  await writer;
  const catchUp = since(t1);
  await index.close();
  return { ...main, keysPerEntry: main.keysPerEntry + 2, diskPerEntry: main.diskPerEntry + duBytes(indexDir) / n, note: `index database written beside, unsynced: ${lagAtEnd.toLocaleString('en-US')} entries behind when the appends ended, caught up ${catchUp.toFixed(2)} s later` };
}

/** A RunStore over `db` (src/storage/run-index.ts): merges write unsynced batches. */
function runStoreOf(db: Db): RunStore {
  return {
    getMany: (keys) => db.getMany([...keys]),
    range: (gte, lt, limit) => db.iterator({ gte, lt, limit }).all(),
    write: (ops) => db.batch(ops.map((o) => (o.type === 'put' ? { type: 'put' as const, key: o.key, value: o.value } : { type: 'del' as const, key: o.key }))),
  };
}

/** v2 with the leaf-hash and digest indexes as src/storage/run-index.ts runs, merged in the background. */
async function v2RunIndex(p: Payload, n: number, bundles = true): Promise<Result> {
  let indexes: RunIndex[] = [];
  let pending: unknown[] = [];
  return run(
    bundles ? 'v2-run-index' : 'v2-run-index-entry-keys',
    n,
    (put, i) => {
      if (!bundles) put(key('e', i), entry(p, i));
      if (i % 3 === 0) put(key('a', i), p.attachment);
      if (i % 3 === 1) put(key('x', new TextEncoder().encode(`case\0衡环罚〔2026〕${i >> 6}号\0`), i), EMPTY);
    },
    (put, first, end) => {
      bundlesAndTiles(p, put, first, end, bundles);
      pending = indexes.map((index, family) => {
        const vals = Array.from({ length: end - first }, (_, j) => (family === 0 ? hash(p, first + j) : digest(p, first + j)));
        const { ops, run: r } = index.flushOps(first, vals);
        for (const o of ops) if (o.type === 'put') put(o.key, o.value);
        return r;
      });
    },
    () => indexes.forEach((index, family) => index.added(pending[family])),
    {
      opened: async (db) => {
        indexes = await Promise.all([RunIndex.open(runStoreOf(db), 0x6c), RunIndex.open(runStoreOf(db), 0x64)]);
      },
      closing: async () => {
        const t1 = performance.now();
        for (const index of indexes) await index.idle();
        const merges = indexes.reduce((a, x) => a + x.merges, 0);
        return `${merges} background merges (shape ${indexes.map((x) => x.shape.join('/')).join(', ')}), merger caught up ${since(t1).toFixed(2)} s after the appends${indexes.some((x) => x.lastError) ? `; merge error: ${indexes.map((x) => x.lastError).join(' ')}` : ''}`;
      },
    },
  );
}

async function rawBaseline(p: Payload, n: number): Promise<Result> {
  return run('raw baseline', n, (put, i) => {
    put(key('e', i), entry(p, i));
    if (i % 3 === 0) put(key('a', i), p.attachment);
  });
}

const n = Number(process.argv[2] ?? 1_000_000);
const only = process.argv[3]?.split(',');
const p = payload(n);
const layouts: Record<string, () => Promise<Result>> = {
  'raw baseline': () => rawBaseline(p, n),
  v1: () => v1(p, n, true),
  'v1-no-hash-index': () => v1(p, n, false),
  v2: () => v2(p, n, 'v2', true),
  'v2-lazy-index': () => v2LazyIndex(p, n),
  'v2-run-index': () => v2RunIndex(p, n),
  'v2-run-index-entry-keys': () => v2RunIndex(p, n, false),
  'v2-no-hash-index': () => v2(p, n, 'v2-no-hash-index', false),
};
const results: Result[] = [];
for (const [name, f] of Object.entries(layouts)) {
  if (only !== undefined && name !== 'raw baseline' && !only.includes(name)) continue;
  const r = await f();
  results.push(r);
  console.error(`[layout] ${name}: ${Math.round(r.rate)} entries/s`);
}
const base = results[0] as Result;
console.log(`\n${n.toLocaleString('en-US')} entries, synced batches of ${BATCH}\n`);
console.log('| layout | entries/s | ratio to raw | keys per entry | disk B/entry | note |\n|---|---|---|---|---|---|');
for (const r of results) console.log(`| ${r.layout} | ${Math.round(r.rate).toLocaleString('en-US')} | ${(r.rate / base.rate).toFixed(2)} | ${r.keysPerEntry.toFixed(2)} | ${r.diskPerEntry.toFixed(0)} | ${r.note ?? ''} |`);
mkdirSync('bench', { recursive: true });
writeFileSync(join('bench', 'layout-experiment.json'), JSON.stringify({ entries: n, batch: BATCH, results }, null, 2));
