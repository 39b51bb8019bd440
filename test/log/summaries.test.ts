/**
 * The explorer's summaries (src/log/summaries.ts) over a real LevelStore: hour buckets from the
 * published blocks (across an hour boundary, with the ledger's clock), HJ 212 packets per device
 * per Asia/Shanghai day, cases by recency and by prefix; and their restarts: after a crash (close
 * without writing them) they catch up from the store and count nothing twice, also when a crash
 * fell between the two writes of the case tables, and on a log that never kept them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { digestBytes } from '../../src/core/entry/index.js';
import { generateSignerKey } from '../../src/core/note.js';
import { Ledger, type EntryInput, type LedgerOptions } from '../../src/log/ledger.js';
import { caseKey, CASES_RECENT_TABLE, CASES_TABLE } from '../../src/log/summaries-cases.js';
import { HOURS_TABLE } from '../../src/log/summaries-hours.js';
import { parseInstant, shanghaiDayOf } from '../../src/log/summaries-time.js';
import { LevelStore } from '../../src/storage/level.js';
import type { LedgerStore } from '../../src/storage/store.js';

const KEYS = generateSignerKey('guzheng.test/summaries', new Uint8Array(32).fill(5));

const dirs: string[] = [];
const open: Ledger[] = [];
afterEach(async () => {
  for (const l of open.splice(0)) await l.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'guzheng-summaries-'));
  dirs.push(d);
  return d;
}

/** A settable clock. */
function clockAt(iso: string): { now: Date; set(iso: string): void; fn: () => Date } {
  const c = {
    now: new Date(iso),
    set(t: string) {
      c.now = new Date(t);
    },
    fn: () => c.now,
  };
  return c;
}

async function openLedger(store: LedgerStore, o: Partial<LedgerOptions> = {}): Promise<Ledger> {
  const ledger = await Ledger.open({ store, signerKey: KEYS.signerKey, checkpointIntervalMs: 5, summaries: { flushIntervalMs: 30 }, ...o });
  open.push(ledger);
  return ledger;
}

let n = 0;
function record(caseId?: string): EntryInput {
  return { type: 'record', record: { n: n++ }, meta: caseId === undefined ? {} : { caseId } };
}

function packet(mn: string | undefined): EntryInput {
  const raw = new TextEncoder().encode(`##0101QN=${n++};ST=22;CN=2011;PW=123456;MN=${mn ?? ''};Flag=5;CP=&&&&0000\r\n`);
  return { type: 'hj212', raw, digest: digestBytes(raw), meta: { ...(mn === undefined ? {} : { mn }), pollutants: [], crc: { ok: true, variant: 'hj212-2017' }, parserVersion: 'test/1' } };
}

/** append anchors `inputs` and waits until a block seals them. */
async function append(ledger: Ledger, inputs: EntryInput[]): Promise<void> {
  const r = await ledger.append(inputs, 'key-test');
  await ledger.publisher.waitFor((r.at(-1)?.index ?? 0n) + 1n, 5000);
}

async function hours(store: LedgerStore): Promise<Record<string, { entries: number; blocks: number }>> {
  const rows = await store.listRecords(HOURS_TABLE, { lt: '~', limit: 1000 });
  return Object.fromEntries(rows.map((r) => [r.key, JSON.parse(r.value) as { entries: number; blocks: number }]));
}

async function allCases(ledger: Ledger): Promise<Array<{ caseId: string; entries: number; firstIndex: bigint; lastIndex: bigint }>> {
  const s = ledger.summaries!;
  const out = [];
  let before: bigint | undefined;
  for (;;) {
    const page = await s.cases.recent(before, 2);
    out.push(...page.cases.map((c) => ({ caseId: c.caseId, entries: c.entries, firstIndex: c.firstIndex, lastIndex: c.lastIndex })));
    if (!page.more) return out;
    before = page.cases.at(-1)!.lastIndex;
  }
}

/** The summaries have caught up with the log (polled). */
async function caughtUp(ledger: Ledger): Promise<void> {
  await expect
    .poll(
      () => {
        const st = ledger.summaries!.status();
        return st.blocks.behind === 0n && st.entries.behind === 0n;
      },
      { timeout: 10_000, interval: 20 },
    )
    .toBe(true);
  await ledger.summaries!.flush();
}

describe('summaries', () => {
  it('count entries and blocks per UTC hour, across an hour boundary, from the blocks published', async () => {
    const store = await LevelStore.open(tempDir());
    const clock = clockAt('2026-12-06T01:59:58.000Z');
    const ledger = await openLedger(store, { clock: clock.fn });
    await append(ledger, [record(), record(), record()]);
    clock.set('2026-12-06T02:00:00.500Z');
    await append(ledger, [record(), record()]);
    await append(ledger, [record(), record(), record(), record(), record()]);
    await ledger.summaries!.flush();
    // Hour 01: the genesis block (0 entries) and the first block; hour 02: the other two.
    expect(await hours(store)).toEqual({ '2026-12-06T01': { entries: 3, blocks: 2 }, '2026-12-06T02': { entries: 7, blocks: 2 } });
    expect(ledger.summaries!.hours.covered).toBe(4n);
    const got = await ledger.summaries!.hours.hours('2026-12-06T00', '2026-12-06T03', 100);
    expect([...got.keys()]).toEqual(['2026-12-06T01', '2026-12-06T02']);
  });

  it('count HJ 212 packets per device per Asia/Shanghai day, from the entries', async () => {
    const store = await LevelStore.open(tempDir());
    // 15:59:59 UTC is 23:59:59 in Shanghai (Dec 6); 16:00 UTC is Dec 7 there.
    const clock = clockAt('2026-12-06T15:59:59.000Z');
    const ledger = await openLedger(store, { clock: clock.fn });
    await append(ledger, [packet('MN-A'), packet('MN-A'), packet('MN-B'), record('C1'), packet(undefined)]);
    clock.set('2026-12-06T16:00:00.000Z');
    await append(ledger, [packet('MN-A')]);
    await ledger.summaries!.flush();
    const { rows, truncated } = await ledger.summaries!.hj212.days('2026-12-06', '2026-12-08', 100);
    expect(truncated).toBe(false);
    expect(rows).toEqual([
      { day: '2026-12-06', mn: '', packets: 1 },
      { day: '2026-12-06', mn: 'MN-A', packets: 2 },
      { day: '2026-12-06', mn: 'MN-B', packets: 1 },
      { day: '2026-12-07', mn: 'MN-A', packets: 1 },
    ]);
    expect((await ledger.summaries!.hj212.days('2026-12-06', '2026-12-08', 2)).truncated).toBe(true);
    expect(ledger.summaries!.hj212.covered).toBe(6n);
  });

  it('list cases most recently touched first, paged, and by prefix in case id order', async () => {
    const store = await LevelStore.open(tempDir());
    const ledger = await openLedger(store);
    const long = `衡环罚〔2026〕${'长'.repeat(74)}号`; // 244 UTF-8 bytes: over 240, a hashed key
    await append(ledger, [record('B-1'), record('A-1'), record(), record('B-2')]);
    await ledger.summaries!.flush();
    await append(ledger, [record('A-1'), record(long), record('A-2')]);
    await ledger.summaries!.flush();
    await append(ledger, [record('B-1')]);
    await ledger.summaries!.flush();
    expect(await allCases(ledger)).toEqual([
      { caseId: 'B-1', entries: 2, firstIndex: 0n, lastIndex: 7n },
      { caseId: 'A-2', entries: 1, firstIndex: 6n, lastIndex: 6n },
      { caseId: long, entries: 1, firstIndex: 5n, lastIndex: 5n },
      { caseId: 'A-1', entries: 2, firstIndex: 1n, lastIndex: 4n },
      { caseId: 'B-2', entries: 1, firstIndex: 3n, lastIndex: 3n },
    ]);
    // One row per case in each table (old recency rows deleted), plus the marker in `cases`.
    expect(await store.listRecords(CASES_RECENT_TABLE, { limit: 100 })).toHaveLength(5);
    expect(await store.listRecords(CASES_TABLE, { limit: 100 })).toHaveLength(6);
    expect(caseKey(long)).toMatch(/^衡环罚〔2026〕长+\u0001[0-9a-f]{24}$/);
    const cases = ledger.summaries!.cases;
    const a = await cases.byPrefix('A-', undefined, 1);
    expect([a.cases.map((c) => c.caseId), a.more]).toEqual([['A-1'], true]);
    const a2 = await cases.byPrefix('A-', 'A-1', 1);
    expect([a2.cases.map((c) => c.caseId), a2.more]).toEqual([['A-2'], false]);
    expect((await cases.byPrefix('衡环罚', undefined, 10)).cases.map((c) => c.caseId)).toEqual([long]);
    // A prefix of 235 bytes: longer than the key's head (230 bytes).
    expect((await cases.byPrefix(long.slice(0, 80), undefined, 10)).cases.map((c) => c.caseId)).toEqual([long]);
    expect((await cases.byPrefix(`${long.slice(0, 80)}x`, undefined, 10)).cases).toEqual([]);
    expect((await cases.byPrefix('C', undefined, 10)).cases).toEqual([]);
  });

  it('after a crash (summaries not written), catch up from the store at the next start: nothing counted twice or skipped', async () => {
    const dir = tempDir();
    const clock = clockAt('2026-12-06T08:00:00.000Z');
    let store = await LevelStore.open(dir);
    let ledger = await openLedger(store, { clock: clock.fn });
    await append(ledger, [record('K-1'), packet('MN-A'), record('K-2')]);
    await ledger.summaries!.flush();
    expect(await store.getRecord(CASES_TABLE, '\u0001upTo')).toBe('3');
    await append(ledger, [record('K-1'), packet('MN-A'), packet('MN-B'), record()]);
    // As a kill would: the summaries stop without writing what they hold; the log closes cleanly.
    await ledger.summaries!.close({ flush: false });
    await ledger.close();
    open.splice(open.indexOf(ledger), 1);

    store = await LevelStore.open(dir);
    ledger = await openLedger(store, { clock: clock.fn });
    await caughtUp(ledger);
    expect(await allCases(ledger)).toEqual([
      { caseId: 'K-1', entries: 2, firstIndex: 0n, lastIndex: 3n },
      { caseId: 'K-2', entries: 1, firstIndex: 2n, lastIndex: 2n },
    ]);
    expect((await ledger.summaries!.hj212.days('2026-12-06', '2026-12-07', 10)).rows).toEqual([
      { day: '2026-12-06', mn: 'MN-A', packets: 2 },
      { day: '2026-12-06', mn: 'MN-B', packets: 1 },
    ]);
    expect(await hours(store)).toEqual({ '2026-12-06T08': { entries: 7, blocks: await blockCount(store) } });

    // A clean restart: nothing to catch up, the counts stay.
    await ledger.close();
    open.splice(open.indexOf(ledger), 1);
    store = await LevelStore.open(dir);
    ledger = await openLedger(store, { clock: clock.fn });
    await caughtUp(ledger);
    expect((await allCases(ledger)).map((c) => c.entries)).toEqual([2, 1]);
    expect(await hours(store)).toEqual({ '2026-12-06T08': { entries: 7, blocks: await blockCount(store) } });
  });

  it('a crash between the writes of cases-recent and cases: the next start removes the orphan rows and recounts', async () => {
    const dir = tempDir();
    const inner = await LevelStore.open(dir);
    let failCases = false;
    const store = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'putRecords') {
          return async (table: string, rows: Parameters<LedgerStore['putRecords']>[1]) => {
            if (table === CASES_TABLE && failCases) throw new Error('crash (simulated) before the cases write');
            return target.putRecords(table, rows);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    let ledger = await openLedger(store);
    await append(ledger, [record('X'), record('Y')]);
    await ledger.summaries!.flush();
    await append(ledger, [record('X'), record('Z')]);
    failCases = true;
    await expect(ledger.summaries!.flush()).rejects.toThrow(/simulated/);
    // cases-recent already holds X at 2 and Z at 3 (X's row at 0 deleted); cases still says X at 0.
    expect((await inner.listRecords(CASES_RECENT_TABLE, { limit: 10 })).map((r) => r.key.replace(/^0+(?=.)/, ''))).toEqual(['1', '2', '3']);
    await ledger.summaries!.close({ flush: false });
    await ledger.close();
    open.splice(open.indexOf(ledger), 1);

    const again = await LevelStore.open(dir);
    ledger = await openLedger(again);
    await caughtUp(ledger);
    expect(await allCases(ledger)).toEqual([
      { caseId: 'Z', entries: 1, firstIndex: 3n, lastIndex: 3n },
      { caseId: 'X', entries: 2, firstIndex: 0n, lastIndex: 2n },
      { caseId: 'Y', entries: 1, firstIndex: 1n, lastIndex: 1n },
    ]);
    expect(await again.listRecords(CASES_RECENT_TABLE, { limit: 10 })).toHaveLength(3);
  });

  it('a log that never kept summaries is summarized from the store at its first start with them, in the background', async () => {
    const dir = tempDir();
    let store = await LevelStore.open(dir);
    let ledger = await openLedger(store, { summaries: false });
    expect(ledger.summaries).toBeUndefined();
    for (let i = 0; i < 5; i++) await append(ledger, Array.from({ length: 500 }, (_, j) => (j % 50 === 0 ? packet(`MN-${j % 3}`) : record(j % 7 === 0 ? `CASE-${j % 4}` : undefined))));
    await ledger.close();
    open.splice(open.indexOf(ledger), 1);

    store = await LevelStore.open(dir);
    // Small pages: the catch-up takes several steps.
    ledger = await openLedger(store, { summaries: { flushIntervalMs: 30, pageEntries: 128 } });
    await caughtUp(ledger);
    const cases = await allCases(ledger);
    expect(cases.map((c) => c.caseId).sort()).toEqual(['CASE-0', 'CASE-1', 'CASE-2', 'CASE-3']);
    // j % 7 === 0 and j % 50 !== 0 among j < 500: 72 per append, 5 appends.
    expect(cases.reduce((a, c) => a + c.entries, 0)).toBe(5 * Array.from({ length: 500 }, (_, j) => j).filter((j) => j % 7 === 0 && j % 50 !== 0).length);
    const day = shanghaiDayOf(new Date().toISOString());
    const { rows } = await ledger.summaries!.hj212.days(day, '9999-12-31', 100);
    expect(rows.reduce((a, r) => a + r.packets, 0)).toBe(50);
    const h = await hours(store);
    expect(Object.values(h).reduce((a, c) => a + c.entries, 0)).toBe(2500);
    expect(Object.values(h).reduce((a, c) => a + c.blocks, 0)).toBe(await blockCount(store));
  });

  it('retry reading their markers while the store fails, and refuse markers beyond the log', async () => {
    const inner = await LevelStore.open(tempDir());
    let failures = 2;
    const store = new Proxy(inner, {
      get(target, prop, receiver) {
        if (prop === 'getRecord') {
          return async (table: string, key: string) => {
            if (failures > 0) {
              failures--;
              throw new Error('store down (simulated)');
            }
            return target.getRecord(table, key);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const events: string[] = [];
    const ledger = await openLedger(store, { summaries: { flushIntervalMs: 30, onEvent: (l) => events.push(l) } });
    await append(ledger, [record('R-1'), record('R-1')]);
    await caughtUp(ledger);
    expect((await allCases(ledger)).map((c) => c.entries)).toEqual([2]);
    expect(events[0]).toMatch(/^summaries: store down \(simulated\)$/);
    expect(ledger.summaries!.status().lastError).toBe('store down (simulated)');

    // Markers past the log (another database's tables): not kept, said so.
    const other = await LevelStore.open(tempDir());
    await other.putRecords(CASES_TABLE, [{ key: '\u0001upTo', value: '1000' }]);
    const behind = await openLedger(other);
    await expect.poll(() => behind.summaries!.status().state, { timeout: 5000 }).toBe('failed');
    expect(behind.summaries!.status().lastError).toMatch(/cover more than the log holds/);
  });

  it('parse statistics range bounds strictly', () => {
    expect(parseInstant('2026-12-06')).toBe(Date.parse('2026-12-05T16:00:00Z'));
    expect(parseInstant('2026-12-06T02:00Z')).toBe(Date.parse('2026-12-06T02:00:00Z'));
    expect(parseInstant('2026-12-06T10:00:00.5+08:00')).toBe(Date.parse('2026-12-06T02:00:00.500Z'));
    for (const bad of ['2026-02-30', '2026-13-01', '2026-12-06T02:00', '2026-12-06T24:00Z', '1969-12-31', '2026-12-6', ' 2026-12-06', '2026-12-06T02:00:00+25:00', 'now']) expect(parseInstant(bad), bad).toBeUndefined();
  });
});

async function blockCount(store: LedgerStore): Promise<number> {
  return Number(await store.getBlockCount());
}
