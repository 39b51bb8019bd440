/**
 * The tamper matrix: a real LevelDB ledger (storage layout 2) built through Ledger, copied, damaged
 * straight in LevelDB (entries inside their bundles, nodes inside their tiles, records inside the
 * index runs and digest bundles: test/audit/layout2.ts), then audited. Each damage must be
 * detected AND located: the first problem names the right kind, entry index or block height,
 * with expected and found.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { formatBlock, parseBlock, sealBlock } from '../../src/core/block.js';
import { fromUtf8, toHex, utf8 } from '../../src/core/bytes.js';
import { openCheckpoint, signCheckpoint } from '../../src/core/checkpoint.js';
import { decodeEntry } from '../../src/core/entry/codec.js';
import { hashLeaf } from '../../src/core/merkle/hash.js';
import { parseSignerKey } from '../../src/core/note.js';
import { verifyFraudProof } from '../../src/audit/fraud.js';
import { LocalSource } from '../../src/audit/local.js';
import { runAudit, type AuditOptions } from '../../src/audit/replay.js';
import { formatReport, reportJson, type AuditReport, type Problem } from '../../src/audit/report.js';
import { AuditAbort } from '../../src/audit/source.js';
import { LevelStore, StoreLockedError } from '../../src/storage/level.js';
import { BLOCK_COUNT_KEY, SIZE_KEY, attachmentKey, blockKey, decodeU64, encodeU64, entryKey } from '../../src/storage/keys.js';
import { LAYOUT_KEY, bundleKey, bundlePieceKey, digestBundleKey, tileKey } from '../../src/storage/layout2.js';
import { encodeEntryBundle as encodeEntryBundleOf } from '../../src/core/tiles.js';
import { Level } from 'level';
import { IMPOSTOR, KEYS, buildLedger, cleanupDirs, tempDir, withDb } from './helpers.js';
import { DIGEST_INDEX, LEAF_INDEX, deleteBundle, writeRun, getEntry, getNode, manifestKey, mutateDigests, mutateIndex, pageKey, putEntry, readBundle, record, runOf, same, setNode, trimTiles, writeBundle } from './layout2.js';

const SIZE = 3000;
const BATCH = 100; // one block per batch: blocks at sizes 0, 100, 200, …, 3000

let pristine: string;
let notes: string[];

beforeAll(async () => {
  pristine = join(tempDir(), 'ledger');
  notes = await buildLedger(pristine, SIZE, { batch: BATCH });
}, 120_000);
afterAll(cleanupDirs);

function copy(): string {
  const dir = join(tempDir(), 'ledger');
  cpSync(pristine, dir, { recursive: true });
  return dir;
}

async function audit(dir: string, options: Partial<AuditOptions> = {}): Promise<AuditReport> {
  const source = await LocalSource.open(dir);
  try {
    return await runAudit(source, { verifierKey: KEYS.verifierKey, maxProblems: 50, ...options });
  } finally {
    await source.close();
  }
}

function first(r: AuditReport): Problem {
  expect(r.ok, formatReport(r)).toBe(false);
  return r.problems[0] as Problem;
}

async function getValue(dir: string, key: Uint8Array): Promise<Uint8Array> {
  const v = await withDb(dir, (db) => db.get(key));
  if (v === undefined) throw new Error('no such key');
  return new Uint8Array(v);
}

/** The checkpoint note of the block sealing size `size` (blocks every BATCH entries). */
function noteAt(size: number): string {
  return notes[size / BATCH] as string;
}

/** Entry `i` of a copy (from its bundle). */
function entryOf(dir: string, i: bigint): Promise<Uint8Array> {
  return withDb(dir, (db) => getEntry(db, i));
}

describe('audit of a clean ledger', () => {
  it('replays everything and reports OK with size, root and checkpoint count', async () => {
    const r = await audit(copy());
    expect(r.ok, formatReport(r)).toBe(true);
    expect(r.size).toBe(BigInt(SIZE));
    expect(r.checkpoints).toBe(BigInt(SIZE / BATCH + 1));
    const last = openCheckpoint(notes[notes.length - 1] as string, KEYS.verifierKey).checkpoint;
    expect(toHex(r.root)).toBe(toHex(last.root));
    expect(r.latest?.height).toBe(BigInt(SIZE / BATCH));
    expect(r.unsealed).toBe(0n);
    expect(r.stats.nodesCompared).toBe(2 * SIZE - 7); // 2n - popcount(3000): every stored node
    expect(formatReport(r)).toMatch(/OK: 3,000 entries, 31 checkpoints/);
    const json = reportJson(r);
    expect(json).toMatchObject({ ok: true, size: '3000', checkpoints: '31', problemCount: 0 });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('audits an empty log (genesis block only)', async () => {
    const dir = join(tempDir(), 'empty');
    await buildLedger(dir, 0);
    const r = await audit(dir, { saved: [{ label: 'genesis', note: notes[0] as string }] });
    expect(r.ok, formatReport(r)).toBe(true);
    expect(r).toMatchObject({ size: 0n, checkpoints: 1n, unsealed: 0n });
    expect(toHex(r.root)).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('gives the same answer with worker threads', async () => {
    const dir = copy();
    const inline = await audit(dir, { workers: 0 });
    const threaded = await audit(dir, { workers: 2 });
    expect(threaded.ok, formatReport(threaded)).toBe(true);
    expect(threaded.stats.workers).toBe(2);
    expect(toHex(threaded.root)).toBe(toHex(inline.root));
  }, 60_000);

  it('accepts saved checkpoints of the same history', async () => {
    const r = await audit(copy(), { saved: [{ label: 'cp-1200', note: noteAt(1200) }, { label: 'cp-3000', note: noteAt(3000) }] });
    expect(r.ok, formatReport(r)).toBe(true);
    expect(r.savedCheckpoints).toBe(2);
  });

  it('refuses a data directory that a running log holds', async () => {
    const dir = copy();
    const store = await LevelStore.open(dir);
    try {
      await expect(LocalSource.open(dir)).rejects.toBeInstanceOf(StoreLockedError);
    } finally {
      await store.close();
    }
    await expect(LocalSource.open(join(tempDir(), 'nothing-here'))).rejects.toBeInstanceOf(AuditAbort);
  });

  it('releases the directory afterwards (workers included)', async () => {
    const dir = copy();
    await audit(dir, { workers: 2 });
    const store = await LevelStore.open(dir);
    await store.close();
  }, 60_000);
});

describe('tamper matrix', () => {
  it('one byte of an entry changed: located at its index, leaf expected vs found', async () => {
    const dir = copy();
    const k = 1234n;
    const original = await entryOf(dir, k);
    const changed = original.slice();
    const at = fromUtf8(original).indexOf('"hex":"') + 10; // a hex digit of the digest: still valid JSON
    changed[at] = changed[at] === 0x61 ? 0x62 : 0x61;
    await withDb(dir, (db) => putEntry(db, k, changed));
    const r = await audit(dir);
    const p = first(r);
    expect(p).toMatchObject({ kind: 'node-mismatch', level: 0, node: k, index: k });
    expect(p.expected).toBe(toHex(hashLeaf(changed)));
    expect(p.found).toBe(toHex(hashLeaf(original)));
    // The signed checkpoint of the block sealing [1200, 1300) is contradicted too, and only that one is listed.
    expect(r.problems.find((x) => x.kind === 'root-mismatch')).toMatchObject({ height: 13n, index: 1200n });
    expect(r.counts['root-mismatch']).toBe(1);
    expect(r.suppressed).toBeGreaterThan(10); // ancestors and later checkpoints: consequences, not new problems
    // No noise from the indexes or the digest bundle about the damaged entry.
    expect(r.counts['digest-index']).toBeUndefined();
    expect(r.counts['leaf-index']).toBeUndefined();
  });

  it('an entry changed so it no longer decodes: entry-invalid and the leaf, at its index', async () => {
    const dir = copy();
    const k = 77n;
    const changed = await entryOf(dir, k);
    changed[0] = 0x20; // a leading space: not canonical JSON
    await withDb(dir, (db) => putEntry(db, k, changed));
    const r = await audit(dir);
    expect(first(r).index).toBe(k);
    expect(r.problems.filter((p) => p.index === k).map((p) => p.kind).sort()).toEqual(['entry-invalid', 'node-mismatch']);
    expect(r.problems.find((p) => p.kind === 'entry-invalid')?.code).toBe('ENTRY_INVALID');
  });

  it('an entry bundle deleted: entry-missing at its first entry; the replay stops there', async () => {
    const dir = copy();
    await withDb(dir, (db) => db.del(bundleKey(8n))); // entries 2048..2303
    const r = await audit(dir, { workers: 2 });
    expect(first(r)).toMatchObject({ kind: 'entry-missing', index: 2048n, found: 'the next stored entry bundle is 9 (entries from 2304)' });
    expect(r.size).toBe(2048n);
    expect(r.warnings.join()).toMatch(/could not be checked/);
  }, 60_000);

  it('an entry cut out of its bundle (the rest of the bundle moved up): located at its index, and the bundle is short', async () => {
    const dir = copy();
    await withDb(dir, async (db) => {
      const entries = await readBundle(db, 8n);
      entries.splice(2100 - 2048, 1);
      await writeBundle(db, 8n, entries, true);
    });
    const r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'node-mismatch', level: 0, index: 2100n });
    // Every entry after it sits one place early (listed up to maxProblems), then the bundle ends short.
    expect(r.counts['entry-missing']).toBe(1);
    expect(r.counts['node-mismatch']).toBe(2303 - 2100);
    expect(r.size).toBe(2303n);
    const short = await audit(dir, { maxProblems: 1000 });
    expect(short.problems.find((p) => p.kind === 'entry-missing')).toMatchObject({ index: 2303n, expected: '256 entries in bundle 8', found: '255 entries' });
  });

  it('a bundle cut inside an entry: entry-missing at that entry', async () => {
    const dir = copy();
    await withDb(dir, async (db) => {
      const v = new Uint8Array((await db.get(bundleKey(3n))) as Uint8Array);
      await db.put(bundleKey(3n), v.subarray(0, v.length - 5));
    });
    const r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'entry-missing', index: 1023n, found: '255 entries and a cut one' });
  });

  it('an entry deleted and the rest shifted down (size - 1): located at its index', async () => {
    const dir = copy();
    await withDb(dir, async (db) => {
      const all: Uint8Array[] = [];
      for (let b = 0n; b < 12n; b++) all.push(...(await readBundle(db, b)));
      all.splice(500, 1);
      for (let b = 1; b < 12; b++) await writeBundle(db, BigInt(b), all.slice(256 * b, 256 * b + 256));
      await db.put(SIZE_KEY, encodeU64(BigInt(SIZE) - 1n));
    });
    const r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'node-mismatch', level: 0, index: 500n });
    expect(r.counts.truncated).toBe(1);
  });

  it('two entries swapped: located at the first of them, and the second too', async () => {
    const dir = copy();
    const [a, b] = [500n, 1700n];
    const [ea, eb] = [await entryOf(dir, a), await entryOf(dir, b)];
    await withDb(dir, async (db) => {
      await putEntry(db, a, eb);
      await putEntry(db, b, ea);
    });
    const r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'node-mismatch', level: 0, index: a, expected: toHex(hashLeaf(eb)), found: toHex(hashLeaf(ea)) });
    expect(r.problems.filter((p) => p.kind === 'node-mismatch').map((p) => p.index)).toEqual([a, b]);
  });

  it('a stored interior node changed inside its tile: located at that node, nothing else', async () => {
    const dir = copy();
    const [level, index] = [3, 17n];
    const original = await withDb(dir, (db) => getNode(db, level, index));
    const changed = original.slice();
    changed[5] = (changed[5] as number) ^ 0xff;
    await withDb(dir, (db) => setNode(db, level, index, changed));
    const r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'node-mismatch', level, node: index, index: index << 3n, expected: toHex(original), found: toHex(changed) });
    expect(r.problemCount).toBe(1);
  });

  it('a stored node above the chunks changed, and a leaf slot zeroed (deleted)', async () => {
    const dir = copy();
    await withDb(dir, async (db) => {
      await setNode(db, 11, 0n, new Uint8Array(32).fill(9));
      await setNode(db, 0, 2999n, new Uint8Array(32));
    });
    const r = await audit(dir);
    expect(r.problems.map((p) => [p.kind, p.level, p.node])).toEqual([
      ['node-mismatch', 11, 0n],
      ['node-missing', 0, 2999n],
    ]);
  });

  it('a tile deleted, a tile malformed: one problem each, at the tile', async () => {
    const dir = copy();
    await withDb(dir, async (db) => {
      await db.del(tileKey(0, 3n));
      await db.put(tileKey(0, 5n), new Uint8Array(100));
    });
    const r = await audit(dir, { workers: 2 });
    expect(r.problems.map((p) => [p.kind, p.level, p.node, p.index])).toEqual([
      ['node-missing', 0, 768n, 768n],
      ['node-mismatch', 0, 1280n, 1280n],
    ]);
    expect(r.problems[1]).toMatchObject({ expected: '16320 bytes', found: '100 bytes' });
    // The incomplete level-1 tile (levels 8-15 of a 3,000-entry tree) without its pieces: one problem.
    const bare = copy();
    await withDb(bare, async (db) => {
      for (const k of await db.keys({ gte: Uint8Array.of(0x55, 1), lt: Uint8Array.of(0x55, 2) }).all()) await db.del(k);
    });
    const r2 = await audit(bare);
    expect(r2.problems.map((p) => [p.kind, p.level, p.node])).toEqual([['node-missing', 8, 0n]]);
    expect(r2.problems[0]?.message).toMatch(/tile 1\/0 .* is incomplete and none of its pieces is stored/);
  }, 60_000);

  it('nodes stored beyond the tree: a tile past the last one, a hash in an incomplete slot', async () => {
    const dir = copy();
    await withDb(dir, async (db) => {
      await db.put(tileKey(0, 12n), new Uint8Array(16_320).fill(1));
      await setNode(db, 0, 3000n, new Uint8Array(32).fill(7)); // slot 184 of the tail tile 0/11
    });
    const r = await audit(dir);
    expect(r.problems.map((p) => [p.kind, p.level, p.node])).toEqual([
      ['node-extra', 0, 3072n],
      ['node-extra', 0, 3000n],
    ]);
  });

  it('log truncated (entries and size): truncated at the new size, naming the block', async () => {
    const dir = copy();
    await withDb(dir, async (db) => {
      await writeBundle(db, 9n, (await readBundle(db, 9n)).slice(0, 2500 - 2304));
      await deleteBundle(db, 10n);
      await deleteBundle(db, 11n);
      await trimTiles(db, 2500n);
      await db.put(SIZE_KEY, encodeU64(2500n));
    });
    const r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'truncated', index: 2500n, height: 26n, expected: 'at least 2600 entries', found: '2500 entries' });
  });

  it('log truncated with its blocks: only a saved checkpoint shows it', async () => {
    const dir = copy();
    await withDb(dir, async (db) => {
      await writeBundle(db, 9n, (await readBundle(db, 9n)).slice(0, 2500 - 2304));
      await mutateDigests(db, 9n, (records) => records.filter((x) => x.slot < 2500 - 2304));
      await trimTiles(db, 2500n);
      await deleteBundle(db, 10n);
      await deleteBundle(db, 11n);
      const batch = db.batch();
      for (let i = 2500n; i < BigInt(SIZE); i++) batch.del(attachmentKey(i));
      for (let h = 26n; h <= 30n; h++) batch.del(blockKey(h));
      batch.put(SIZE_KEY, encodeU64(2500n));
      batch.put(BLOCK_COUNT_KEY, encodeU64(26n));
      await batch.write();
    });
    const self = await audit(dir);
    // Digest and leaf-hash records of the removed entries remain: they name entries beyond the size.
    expect(self.problems.map((p) => p.kind).filter((k) => k !== 'digest-index' && k !== 'leaf-index')).toEqual([]);
    expect(self.counts['leaf-index']).toBeGreaterThan(0);
    const r = await audit(dir, { saved: [{ label: 'checkpoint-3000.txt', note: noteAt(3000) }] });
    expect(r.problems.find((p) => p.kind === 'truncated')).toMatchObject({ index: 2500n, expected: 'at least 3000 entries', found: '2500 entries' });
  });

  it('last block replaced with one signed by another key: block-invalid at its height', async () => {
    const dir = copy();
    const height = BigInt(SIZE / BATCH);
    const block = parseBlock(JSON.parse(fromUtf8(await getValue(dir, blockKey(height)))));
    const cp = openCheckpoint(block.checkpoint, KEYS.verifierKey).checkpoint;
    const forged = { ...block, checkpoint: signCheckpoint({ origin: cp.origin, size: cp.size, root: cp.root }, parseSignerKey(IMPOSTOR.signerKey)) };
    await withDb(dir, (db) => db.put(blockKey(height), utf8(JSON.stringify(formatBlock(forged)))));
    const r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'block-invalid', height, code: 'NOTE_UNVERIFIED' });
    expect(r.problemCount).toBe(1);
  });

  it('a block in the middle re-sealed with a wrong prev link: chain-broken at its height', async () => {
    const dir = copy();
    const block = parseBlock(JSON.parse(fromUtf8(await getValue(dir, blockKey(7n)))));
    const bad = { ...block, prev: new Uint8Array(32).fill(1) };
    await withDb(dir, (db) => db.put(blockKey(7n), utf8(JSON.stringify(formatBlock(bad)))));
    const r = await audit(dir);
    expect(r.problems.find((p) => p.kind === 'chain-broken')).toMatchObject({ height: 7n, found: '01'.repeat(32) });
    // The signed block header says otherwise; block 8 still links: a signed block's hash covers only signed text.
    expect(r.problems.map((p) => [p.kind, p.height, p.code]).sort()).toEqual([
      ['block-invalid', 7n, 'BLOCK_INVALID'],
      ['chain-broken', 7n, undefined],
    ]);
  });

  it("the newest block's time moved a year forward (and re-sealed to keep its links): block-invalid at its height", async () => {
    const dir = copy();
    const height = BigInt(SIZE / BATCH);
    const block = parseBlock(JSON.parse(fromUtf8(await getValue(dir, blockKey(height)))));
    const later = new Date(Date.parse(block.time) + 365 * 86_400_000).toISOString();
    await withDb(dir, (db) => db.put(blockKey(height), utf8(JSON.stringify(formatBlock({ ...block, time: later })))));
    const r = await audit(dir);
    expect(r.problems.map((p) => [p.kind, p.height, p.code])).toEqual([['block-invalid', height, 'BLOCK_INVALID']]);
    expect(r.problems[0]?.message).toMatch(/differs from the signed block header/);
  });

  it('history rewritten after index k and re-signed with the real key: a fork, caught against a saved checkpoint', async () => {
    const k = 1500;
    const forkDir = join(tempDir(), 'fork');
    await buildLedger(forkDir, SIZE, { batch: BATCH, variant: (i) => (i >= k ? 'rewritten ' : '') });
    // On its own, the rewritten log is self-consistent: signatures, chain, tree, indexes.
    const alone = await audit(forkDir);
    expect(alone.ok, formatReport(alone)).toBe(true);
    // Against a checkpoint the auditor saved from the real log, it is a fork, with evidence.
    const saved = noteAt(2000);
    const r = await audit(forkDir, { saved: [{ label: 'checkpoint-2000.txt', note: saved }, { label: 'checkpoint-1200.txt', note: noteAt(1200) }] });
    const p = first(r);
    expect(p.kind).toBe('fork');
    expect(p.message).toMatch(/checkpoint-2000\.txt \(size 2000\)/);
    expect(p.expected).toBe(toHex(openCheckpoint(saved, KEYS.verifierKey).checkpoint.root));
    expect(r.problemCount).toBe(1); // the checkpoint at 1200, before the rewrite, still matches
    expect(p.evidence).toMatchObject({ format: 'guzheng-fraud-proof/v1', kind: 'same-size', conclusive: true, from: '2000', to: '2000', trusted: saved });
    expect(verifyFraudProof(JSON.parse(JSON.stringify(p.evidence)), KEYS.verifierKey)).toMatchObject({ valid: true, conclusive: true });
    // Against a saved checkpoint between blocks, the evidence is a failing consistency proof.
    const ledgerNotes = await buildLedger(join(tempDir(), 'other'), 2050, { batch: 2050 });
    const mid = ledgerNotes[ledgerNotes.length - 1] as string; // size 2050: no block of the fork has that size
    const r2 = await audit(forkDir, { saved: [{ label: 'cp-2050', note: mid }] });
    expect(first(r2)).toMatchObject({ kind: 'fork', evidence: { kind: 'inconsistent', conclusive: true, from: '2050', to: '2100' } });
    expect(verifyFraudProof(first(r2).evidence, KEYS.verifierKey)).toMatchObject({ valid: true, conclusive: true });
  }, 120_000);

  it('digest index: a record deleted, one moved, one invented (runs rewritten with consistent manifests)', async () => {
    const digestOf = async (dir: string, i: bigint) => decodeEntry(await entryOf(dir, i)).digest;
    const bytes = (hex: string) => new Uint8Array(Buffer.from(hex, 'hex'));
    // Deleted.
    let dir = copy();
    const d10 = await digestOf(dir, 10n);
    await withDb(dir, (db) => mutateIndex(db, DIGEST_INDEX, 10n, (rs) => rs.filter((x) => !same(x, record(bytes(d10.hex), 10n)))));
    let r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'digest-index', index: 10n, expected: `sha256:${d10.hex} → 10`, found: 'no such index record' });
    expect(r.problemCount).toBe(1);
    // Moved: entry 20's record now names entry 21.
    dir = copy();
    const d20 = await digestOf(dir, 20n);
    await withDb(dir, (db) => mutateIndex(db, DIGEST_INDEX, 20n, (rs) => rs.map((x) => (same(x, record(bytes(d20.hex), 20n)) ? record(bytes(d20.hex), 21n) : x))));
    r = await audit(dir, { workers: 2 });
    expect(first(r)).toMatchObject({ kind: 'digest-index', index: 20n });
    // Invented: a record claiming a digest was anchored at entry 30.
    dir = copy();
    const fake = new Uint8Array(32).fill(0xab);
    await withDb(dir, (db) => mutateIndex(db, DIGEST_INDEX, 30n, (rs) => [...rs, record(fake, 30n)]));
    r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'digest-index', index: 30n, found: toHex(fake.subarray(0, 8)) });
    expect(r.problemCount).toBe(1);
  }, 60_000);

  it('index runs damaged: a page deleted, a record dropped without its manifest, records out of order', async () => {
    let dir = copy();
    // The first page of the digest index's run holding entry 0: gone.
    let run = await withDb(dir, async (db) => {
      const found = await runOf(db, DIGEST_INDEX, 0n);
      await db.del(pageKey(DIGEST_INDEX, found, 0));
      return found;
    });
    let r = await audit(dir);
    expect(r.problems.some((p) => p.kind === 'digest-index' && /page 0 is not stored/.test(p.message))).toBe(true);
    expect(r.problems.find((p) => p.found === 'no such index record')).toMatchObject({ kind: 'digest-index' });
    expect(r.problems.every((p) => p.kind === 'digest-index')).toBe(true);
    // A run that holds fewer records than its manifest says.
    dir = copy();
    run = await withDb(dir, async (db) => {
      const found = await runOf(db, LEAF_INDEX, 0n);
      const page = new Uint8Array((await db.get(pageKey(LEAF_INDEX, found, 0))) as Uint8Array);
      await db.put(pageKey(LEAF_INDEX, found, 0), page.subarray(13)); // the first record gone, the fence now wrong too
      return found;
    });
    r = await audit(dir);
    const n = run.records.length;
    expect(r.problems.some((p) => p.kind === 'leaf-index' && p.message.includes(`holds ${n - 1} records in its pages, but its manifest says ${n}`))).toBe(true);
    expect(r.problems.some((p) => p.kind === 'leaf-index' && /another prefix than its manifest's fence/.test(p.message))).toBe(true);
    // Two records swapped inside a page: a lookup could miss them.
    dir = copy();
    await withDb(dir, async (db) => {
      const key = pageKey(LEAF_INDEX, await runOf(db, LEAF_INDEX, 0n), 0);
      const page = new Uint8Array((await db.get(key)) as Uint8Array);
      const a = page.slice(13, 26);
      page.copyWithin(13, 26, 39);
      page.set(a, 26);
      await db.put(key, page);
    });
    r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'leaf-index' });
    expect(first(r).message).toMatch(/out of order in page 0/);
  }, 60_000);

  it('digest bundles: a digest changed, a record dropped, a bundle deleted, a bundle past the size', async () => {
    let dir = copy();
    await withDb(dir, (db) => mutateDigests(db, 1n, (rs) => rs.map((x) => (x.slot === 4 ? { ...x, digest: new Uint8Array(32).fill(0xcd) } : x.slot === 9 ? { ...x, alg: 'sm3' } : x))));
    let r = await audit(dir);
    const d260 = decodeEntry(await entryOf(dir, 260n)).digest;
    expect(r.problems.map((p) => [p.kind, p.index])).toEqual([['digest-index', 260n], ['digest-index', 265n]]);
    expect(r.problems[0]).toMatchObject({ expected: `sha256:${d260.hex}`, found: `sha256:${'cd'.repeat(32)}` });
    expect(r.problems[1]?.found).toMatch(/^sm3:/);
    dir = copy();
    await withDb(dir, (db) => mutateDigests(db, 2n, (rs) => rs.filter((x) => x.slot !== 7)));
    r = await audit(dir);
    expect(r.problems.map((p) => [p.kind, p.index, p.found])).toEqual([['digest-index', 519n, 'no record']]);
    dir = copy();
    await withDb(dir, async (db) => {
      await db.del(digestBundleKey(5n));
      await db.put(digestBundleKey(12n), new Uint8Array(0));
    });
    r = await audit(dir);
    expect(r.problems.map((p) => [p.kind, p.index])).toEqual([['digest-index', 1280n], ['digest-index', 3072n]]);
  });

  it('leaf-hash index corrupted, and a record beyond the size', async () => {
    const dir = copy();
    const leaf = hashLeaf(await entryOf(dir, 40n));
    await withDb(dir, async (db) => {
      await mutateIndex(db, LEAF_INDEX, 40n, (rs) => rs.filter((x) => !same(x, record(leaf, 40n))));
      await mutateIndex(db, LEAF_INDEX, 2999n, (rs) => [...rs, record(new Uint8Array(32).fill(3), 5000n)]);
    });
    const r = await audit(dir);
    expect(r.problems.map((p) => [p.kind, p.index])).toEqual([
      ['leaf-index', 40n],
      ['leaf-index', 5000n],
    ]);
  });

  it("leaf-hash index runs: the newest run's manifest gone (lag, and pages no manifest names), a hole with runs after it", async () => {
    let dir = copy();
    let run = await withDb(dir, async (db) => {
      // The manifest of the run holding the last entries gone: its pages stay, named by nothing.
      const found = await runOf(db, LEAF_INDEX, BigInt(SIZE) - 1n);
      await db.del(manifestKey(LEAF_INDEX, found));
      return found;
    });
    let r = await audit(dir);
    // Lag alone is no problem (the store indexes the rest at its next open), but the runs of the
    // two indexes must cover the same prefix, and the orphaned pages are found.
    expect(r.warnings.join()).toContain(`the index runs cover entries [0, ${run.first}) of ${SIZE}`);
    expect(r.problems.map((p) => p.kind)).toEqual(['leaf-index', 'leaf-index']);
    expect(r.problems.some((p) => p.message.includes(`pages of run ${run.level}/${run.first} of the leaf-hash index are stored, but no manifest names that run`))).toBe(true);
    expect(r.problems.some((p) => p.message.includes(`the leaf-hash index's runs cover entries [0, ${run.first}) and the digest index's [0, ${SIZE})`))).toBe(true);
    // A run in the middle gone, pages and manifest: a hole, with runs after it.
    dir = copy();
    run = await withDb(dir, async (db) => {
      const found = await runOf(db, LEAF_INDEX, 1000n);
      await writeRun(db, LEAF_INDEX, found, []);
      await db.del(manifestKey(LEAF_INDEX, found));
      return found;
    });
    r = await audit(dir);
    expect(r.problems.some((p) => p.kind === 'leaf-index' && p.message.includes(`no run of the leaf-hash index covers entries [${run.first}, ${run.end}), though run`))).toBe(true);
    expect(r.problems.every((p) => p.kind === 'leaf-index')).toBe(true);
  });

  it('an attachment changed, entries stored beyond the size, a stored size that lies', async () => {
    let dir = copy();
    await withDb(dir, (db) => db.put(attachmentKey(1n), utf8('{"station":"forged"}')));
    let r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'attachment', index: 1n });
    // An entry added to the partial bundle, past the size.
    dir = copy();
    await withDb(dir, async (db) => writeBundle(db, 11n, [...(await readBundle(db, 11n)), utf8('{}')]));
    r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'entry-extra', index: BigInt(SIZE), expected: 'at most 184 entries', found: '185 entries' });
    // A piece from the size on, a whole bundle past the last one, the partial bundle stored whole.
    dir = copy();
    await withDb(dir, async (db) => {
      await db.put(bundlePieceKey(BigInt(SIZE)), encodeEntryBundleOf([utf8('{}')]));
      await db.put(bundleKey(12n), encodeEntryBundleOf([utf8('{}')]));
    });
    r = await audit(dir);
    expect(r.problems.map((p) => [p.kind, p.index])).toEqual([['entry-extra', 3000n], ['entry-extra', 3072n]]);
    dir = copy();
    await withDb(dir, async (db) => db.put(bundleKey(11n), encodeEntryBundleOf(await readBundle(db, 11n))));
    r = await audit(dir);
    expect(r.problems.map((p) => [p.kind, p.index])).toEqual([['entry-extra', 2816n]]);
    dir = copy();
    await withDb(dir, (db) => db.put(BLOCK_COUNT_KEY, encodeU64(40n)));
    r = await audit(dir);
    expect(first(r)).toMatchObject({ kind: 'block-missing', height: 31n });
    expect(decodeU64(await getValue(dir, BLOCK_COUNT_KEY))).toBe(40n);
  });

  it('entries after the last checkpoint are replayed and reported as unsealed, not as a problem', async () => {
    const dir = copy();
    // Simulate a crash between a write and the next checkpoint: drop the last block.
    await withDb(dir, (db) => db.batch([
      { type: 'del', key: blockKey(30n) },
      { type: 'put', key: BLOCK_COUNT_KEY, value: encodeU64(30n) },
    ]));
    const r = await audit(dir);
    expect(r.ok, formatReport(r)).toBe(true);
    expect(r.unsealed).toBe(100n);
    expect(formatReport(r)).toMatch(/unsealed\s+100 entries/);
  });

  it('refuses a layout-1 directory, naming guzheng migrate, and a layout it does not know', async () => {
    const old = join(tempDir(), 'layout1');
    const db = new Level<Uint8Array, Uint8Array>(old, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    await db.batch([
      { type: 'put', key: SIZE_KEY, value: encodeU64(1n) },
      { type: 'put', key: entryKey(0n), value: utf8('{}') },
    ]);
    await db.close();
    const err = await LocalSource.open(old).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(AuditAbort);
    expect((err as AuditAbort).message).toMatch(/holds storage layout 1; upgrade it with `guzheng migrate --data-dir .*`.*the audit reads layout 2 only/);
    expect((err as AuditAbort).exitCode).toBe(2);
    const dir = copy();
    await withDb(dir, (d) => d.put(LAYOUT_KEY, Uint8Array.of(3)));
    await expect(LocalSource.open(dir)).rejects.toThrow(/layout 3, which this version does not read/);
    // The directory is released after a refusal.
    await withDb(dir, (d) => d.put(LAYOUT_KEY, Uint8Array.of(2)));
    expect((await audit(dir)).ok).toBe(true);
  });

  it('seals blocks the way the log does (the forged block above is otherwise valid)', () => {
    // Sanity check of the helpers: sealBlock over the same checkpoint reproduces a stored block.
    const b0 = sealBlock(undefined, { signer: KEYS.signerKey, size: 0n, root: openCheckpoint(notes[0] as string, KEYS.verifierKey).checkpoint.root, time: '2026-03-01T00:00:00.500Z' });
    expect(formatBlock(b0).prev).toBe('0'.repeat(64));
    expect(formatBlock(b0).format).toBe('guzheng-block/v2');
  });
});
