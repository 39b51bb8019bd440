/**
 * The run index (src/storage/run-index.ts) over a real LevelDB in a temp directory: every lookup
 * equals a brute-force scan of what was added (prefix collisions forced), through merges of
 * several levels, after a reopen, and after a merge cut short at every one of its writes (as a
 * crash would): then no page is left that no manifest names.
 */
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { FAN_IN, PAGE_RECORDS, PREFIX_SIZE, RunIndex, sortRecords, type RunOp, type RunStore } from '../../src/storage/run-index.js';

type Db = Level<Uint8Array, Uint8Array>;
const root = mkdtempSync(join(tmpdir(), 'guzheng-run-index-'));
let dirs = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function openDb(dir = join(root, `db-${dirs++}`)): Promise<{ db: Db; dir: string }> {
  const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  return { db, dir };
}

/** A RunStore over `db`; `failAfter` writes succeed, then every write throws (a crash mid-merge). */
function runStore(db: Db, failAfter = Infinity): RunStore & { writes: number } {
  const s = {
    writes: 0,
    getMany: (keys: readonly Uint8Array[]) => db.getMany([...keys]),
    range: (gte: Uint8Array, lt: Uint8Array, limit: number) => db.iterator({ gte, lt, limit }).all(),
    write: async (ops: readonly RunOp[]) => {
      if (s.writes >= failAfter) throw new Error('killed');
      s.writes++;
      await db.batch(ops.map((o) => (o.type === 'put' ? { type: 'put' as const, key: o.key, value: o.value } : { type: 'del' as const, key: o.key })));
    },
  };
  return s;
}

/** Values for entries: 32 bytes, with the first 8 drawn from a small pool so prefixes collide. */
function values(n: number, seed: number, pool = 64): Uint8Array[] {
  let x = seed >>> 0 || 1;
  const rnd = () => ((x = (x * 1103515245 + 12345) >>> 0), x);
  return Array.from({ length: n }, () => {
    const v = new Uint8Array(32);
    const p = rnd() % pool;
    v[0] = p;
    v[7] = p * 7;
    for (let i = 8; i < 32; i++) v[i] = rnd() & 0xff;
    return v;
  });
}

const prefixHex = (v: Uint8Array) => Buffer.from(v.subarray(0, PREFIX_SIZE)).toString('hex');

function bruteForce(all: Uint8Array[], v: Uint8Array): number[] {
  const want = prefixHex(v);
  return all.flatMap((x, i) => (prefixHex(x) === want ? [i] : []));
}

/** add appends `vals` to `index` as one flush (the run written in a synced batch, as a store would). */
async function add(db: Db, index: RunIndex, first: number, vals: Uint8Array[]): Promise<void> {
  const { ops, run } = index.flushOps(first, vals);
  await db.batch(ops.map((o) => (o.type === 'put' ? { type: 'put' as const, key: o.key, value: o.value } : { type: 'del' as const, key: o.key })), { sync: true });
  index.added(run);
}

async function pageKeys(db: Db): Promise<number> {
  return (await db.keys({ gte: new Uint8Array([0x69, 0x6c, 0x70]), lt: new Uint8Array([0x69, 0x6c, 0x71]) }).all()).length;
}

async function expectExact(index: RunIndex, all: Uint8Array[]): Promise<void> {
  const seen = new Set<string>();
  for (const v of all) {
    const h = prefixHex(v);
    if (seen.has(h)) continue;
    seen.add(h);
    expect(await index.lookup(v)).toEqual(bruteForce(all, v));
  }
  const absent = new Uint8Array(32).fill(0xee);
  expect(await index.lookup(absent)).toEqual(bruteForce(all, absent));
}

describe('RunIndex', () => {
  it('sorts a flush by prefix then index, and refuses what it cannot hold', () => {
    const r = sortRecords(5, [new Uint8Array(8).fill(2), new Uint8Array(8).fill(1), new Uint8Array(8).fill(2)]);
    expect([...r.subarray(0, 8)]).toEqual(Array(8).fill(1));
    expect(r[12]).toBe(6);
    expect(r[25]).toBe(5);
    expect(r[38]).toBe(7);
    expect(() => sortRecords(2 ** 40, [new Uint8Array(8)])).toThrow(/2\^40/);
    expect(() => sortRecords(0, [new Uint8Array(7)])).toThrow(/at least 8/);
  });

  it('finds exactly the entries with a prefix, through merges of three levels, and after a reopen', async () => {
    const { db } = await openDb();
    const store = runStore(db);
    const index = await RunIndex.open(store, 0x6c);
    const all: Uint8Array[] = [];
    // 70 flushes of 1 to 600 entries: level 0 fills 8 times, level 1 once (FAN_IN 8).
    for (let f = 0; f < FAN_IN * FAN_IN + 6; f++) {
      const vals = values(1 + ((f * 97) % 600), f + 1);
      await add(db, index, all.length, vals);
      all.push(...vals);
      if (f % 9 === 0) await expectExact(index, all.slice());
    }
    await index.idle();
    expect(index.lastError).toBeUndefined();
    expect(index.merges).toBe(FAN_IN + 1);
    expect(index.shape).toEqual([6, 0, 1]);
    await expectExact(index, all);
    const pages = await pageKeys(db);
    await index.close();
    const again = await RunIndex.open(runStore(db), 0x6c);
    expect(again.shape).toEqual([6, 0, 1]);
    await expectExact(again, all);
    expect(await pageKeys(db)).toBe(pages);
    await db.close();
  }, 120_000);

  it('survives a merge cut short at any of its writes: the inputs stay whole, no page is orphaned', async () => {
    // A level of FAN_IN runs big enough that the merge takes several page batches.
    const vals = Array.from({ length: FAN_IN }, (_, f) => values(PAGE_RECORDS * 40 + f, 100 + f));
    const all = vals.flat();
    const { db: base, dir } = await openDb();
    const setup = await RunIndex.open(runStore(base, 0), 0x6c); // no merge can write
    let first = 0;
    for (const v of vals) {
      await add(base, setup, first, v);
      first += v.length;
    }
    await setup.idle();
    expect(setup.lastError).toBe('killed');
    await base.close();
    const clean = await (async () => {
      const { db } = await openDb(dir);
      const n = await pageKeys(db);
      await db.close();
      return n;
    })();
    // Kill the merge after k of its writes, for each k, on a copy; then reopen and check.
    for (let k = 0; k <= 12; k++) {
      const { db } = await openDb(dir);
      const copyDir = join(root, `cut-${k}`);
      const { db: copy } = await openDb(copyDir);
      await copy.batch((await db.iterator().all()).map(([key, value]) => ({ type: 'put' as const, key, value })));
      await db.close();
      const cut = await RunIndex.open(runStore(copy), 0x6c); // open, then re-trigger the merge with a budget
      await cut.close();
      const limited = runStore(copy, k);
      const x = await RunIndex.open(limited, 0x6c);
      // A new flush makes the full level merge (FAN_IN + 1 runs).
      const extra = values(3, 999 + k);
      await add(copy, x, all.length, extra);
      await x.idle();
      const reopened = await RunIndex.open(runStore(copy), 0x6c);
      await expectExact(reopened, [...all, ...extra]);
      await reopened.idle();
      await reopened.close();
      // Whatever the cut, the pages on disk are those the manifests name.
      const shape = reopened.shape;
      expect(shape.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      const names = await pageKeys(copy);
      const manifests = await copy.iterator({ gte: new Uint8Array([0x69, 0x6c, 0x6d]), lt: new Uint8Array([0x69, 0x6c, 0x6e]) }).all();
      const named = manifests.reduce((a, [, v]) => a + (v.length - 16) / PREFIX_SIZE, 0);
      expect(names, `cut after ${k} writes`).toBe(named);
      await copy.close();
    }
    expect(clean).toBeGreaterThan(FAN_IN * 40);
  }, 180_000);

  it('property: lookups equal a brute-force scan for any flush sizes and collisions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 300 }), fc.integer(), async (sizes, pool, seed) => {
        const { db } = await openDb();
        const index = await RunIndex.open(runStore(db), 0x64);
        const all: Uint8Array[] = [];
        for (const [i, n] of sizes.entries()) {
          const vals = values(n, seed + i, pool);
          await add(db, index, all.length, vals);
          all.push(...vals);
        }
        await index.idle();
        await expectExact(index, all);
        await index.close();
        await db.close();
      }),
      { numRuns: 15 },
    );
  }, 180_000);
});
