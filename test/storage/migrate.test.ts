/**
 * Migration from storage layout 1 to layout 2 (src/storage/migrate.ts, migrate-swap.ts;
 * contracts-free-ledger/SPEC.md#storage; docs/storage-v2.md "Migrating from layout 1"): a
 * realistic layout-1 store (test/support/layout1-store.ts) migrated holds everything the source
 * held, and equals a layout-2 store written directly with the same log; a run interrupted in any
 * step resumes; a run SIGKILLed part way, at several points, leaves the old store or the new one
 * whole, and the next run (or LevelStore.open, for a cut-short swap) ends with the whole new one.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { decodeEntry } from '../../src/core/entry/index.js';
import { CompactRange } from '../../src/core/merkle/compact.js';
import { SHA256_TREE } from '../../src/core/merkle/hash.js';
import type { NodeHash } from '../../src/core/merkle/node.js';
import { PREFIX, indexOfKey } from '../../src/storage/keys.js';
import { LevelStore, StoreLayoutError, StoreLockedError } from '../../src/storage/level.js';
import { MIGRATED_MARKER, finishMigration, migrateStore, migrationPaths, openUpgrading } from '../../src/storage/migrate.js';
import type { AppendBatch } from '../../src/storage/store.js';
import { writeLayout1Store } from '../support/layout1-store.js';
import { expectMigrated } from './migrate-compare.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CHILD = join(ROOT, 'test', 'support', 'migrate-child.ts');
const tmp = mkdtempSync(join(tmpdir(), 'guzheng-migrate-'));
const SOURCE = join(tmp, 'source');
const ENTRIES = 3000;
let n = 0;

/** A fresh copy of the layout-1 source, as `<dir>/ledger`. */
function copy(): string {
  const ledger = join(tmp, `run-${n++}`, 'ledger');
  cpSync(SOURCE, ledger, { recursive: true });
  return ledger;
}

async function rawRows(dir: string, keep: (k: Uint8Array) => boolean): Promise<Map<string, string>> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  try {
    return new Map((await db.iterator().all()).filter(([k]) => keep(k)).map(([k, v]) => [toHex(k), toHex(v)]));
  } finally {
    await db.close();
  }
}

/** The state a kill may leave: `old` (LevelStore refuses layout 1), or `new` (it opens: the whole store). */
async function openState(ledger: string): Promise<'old' | 'new'> {
  try {
    await (await LevelStore.open(ledger)).close();
    return 'new';
  } catch (err) {
    if (err instanceof StoreLayoutError && err.layout === 1) return 'old';
    throw err;
  }
}

/** runChild migrates `ledger` in a child process, SIGKILLed at the `killAfter`-th progress line or at GUZHENG_MIGRATE_KILL_AT. */
function runChild(ledger: string, o: { killAfter?: number; killAt?: string }): Promise<{ signal: NodeJS.Signals | null; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, ...(o.killAt === undefined ? {} : { GUZHENG_MIGRATE_KILL_AT: o.killAt }) };
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ledger, '256'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let lines = 0;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      lines = stderr.split('\n').filter((l) => l.startsWith('progress ')).length;
      if (o.killAfter !== undefined && lines >= o.killAfter && child.exitCode === null) child.kill('SIGKILL');
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
}

beforeAll(async () => {
  await writeLayout1Store(SOURCE, { entries: ENTRIES, maxFlush: 300, blockEvery: 3 });
}, 60_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('migrateStore', () => {
  it('migrates every entry, node, lookup, attachment, block and record, keeps the old store, and is refused a second time as already done', async () => {
    const ledger = copy();
    await expect(LevelStore.open(ledger)).rejects.toBeInstanceOf(StoreLayoutError);
    const phases = new Set<string>();
    const r = await migrateStore(ledger, { batch: 700, onProgress: (p) => phases.add(p.phase) });
    expect(r).toMatchObject({ status: 'migrated', size: BigInt(ENTRIES), resumedAt: 0n, old: `${ledger}.layout1` });
    expect([...phases]).toEqual(['entries', 'copy', 'verify', 'swap']);
    expect(existsSync(join(ledger, MIGRATED_MARKER))).toBe(true);
    expect(existsSync(`${ledger}.migrating`)).toBe(false);
    await expectMigrated(SOURCE, ledger);
    expect(await rawRows(`${ledger}.layout1`, () => true)).toEqual(await rawRows(SOURCE, () => true));
    expect((await migrateStore(ledger)).status).toBe('already');
  }, 60_000);

  it('writes the same rows as a layout-2 store given the same log in other flushes (run indexes aside)', async () => {
    const ledger = copy();
    await migrateStore(ledger);
    const ref = join(tmp, `ref-${n++}`);
    const source = await rawRows(SOURCE, () => true);
    const rows = (p: Uint8Array) => [...source].filter(([k]) => k.startsWith(toHex(p))).map(([k, v]): [Uint8Array, Uint8Array] => [Buffer.from(k, 'hex'), Buffer.from(v, 'hex')]);
    const entries = rows(PREFIX.entry).map(([, v]) => new Uint8Array(v));
    const attachments = rows(PREFIX.attachment).map(([k, v]) => ({ index: indexOfKey(k), bytes: new Uint8Array(v) }));
    const secondary = rows(PREFIX.secondary).map(([k]) => {
      const [name, key] = new TextDecoder().decode(k.subarray(1, k.length - 9)).split('\0') as [string, string];
      return { name, key, index: indexOfKey(k) };
    });
    const store = await LevelStore.open(ref);
    const range = CompactRange.empty();
    for (let first = 0; first < entries.length; first += 1000) {
      const slice = entries.slice(first, first + 1000);
      const nodes: NodeHash[] = [];
      const leafHashes = slice.map((e) => SHA256_TREE.hashLeaf(e));
      for (const h of leafHashes) range.appendTo(h, nodes);
      const inBatch = (i: bigint) => i >= BigInt(first) && i < BigInt(first + slice.length);
      const digests = slice.map((e, i) => ({ ...decodeEntry(e).digest, index: BigInt(first + i) }));
      const batch: AppendBatch = { first: BigInt(first), entries: slice, leafHashes, nodes, digests, attachments: attachments.filter((a) => inBatch(a.index)), secondary: secondary.filter((x) => inBatch(x.index)) };
      await store.appendBatch(batch);
    }
    await store.close();
    const named = new Set(['s:size', 's:layout'].map((k) => toHex(new TextEncoder().encode(k))));
    const owned = (k: Uint8Array) => [0x45, 0x47, 0x54, 0x61, 0x78].includes(k[0] as number) || named.has(toHex(k));
    const want = await rawRows(ref, owned);
    expect(want.size).toBeGreaterThan(ENTRIES / 256);
    expect(await rawRows(ledger, owned)).toEqual(want);
  }, 60_000);

  it('resumes after an interruption in each step, at the new store\'s size, and copies again what the source changed', async () => {
    const ledger = copy();
    let batches = 0;
    const stopAt = (phase: string, after: number) => (p: { phase: string }) => {
      if (p.phase === phase && ++batches > after) throw new Error(`stopped in ${phase}`);
    };
    await expect(migrateStore(ledger, { batch: 256, onProgress: stopAt('entries', 4) })).rejects.toThrow('stopped in entries');
    expect(await openState(ledger)).toBe('old');
    expect(existsSync(join(`${ledger}.migrating`, MIGRATED_MARKER))).toBe(false);
    batches = 0;
    await expect(migrateStore(ledger, { batch: 256, onProgress: stopAt('copy', 0) })).rejects.toThrow('stopped in copy');
    // The source changes before the next run (an old version served it): a record deleted.
    const db = new Level<Uint8Array, Uint8Array>(ledger, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    await db.del(new TextEncoder().encode('r:users\0alice'));
    await db.close();
    const r = await migrateStore(ledger, { batch: 256 });
    expect(r.status).toBe('migrated');
    expect(r.resumedAt).toBe(BigInt(ENTRIES));
    await expectMigrated(`${ledger}.layout1`, ledger);
    const store = await LevelStore.open(ledger);
    expect(await store.getRecord('users', 'alice')).toBeUndefined();
    await store.close();
  }, 60_000);

  it('refuses a locked store, an existing .layout1, and says when there is nothing to do', async () => {
    const ledger = copy();
    const db = new Level<Uint8Array, Uint8Array>(ledger, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.open();
    await expect(migrateStore(ledger)).rejects.toBeInstanceOf(StoreLockedError);
    await db.close();
    cpSync(SOURCE, `${ledger}.layout1`, { recursive: true });
    await expect(migrateStore(ledger)).rejects.toThrow(/\.layout1 exists/);
    rmSync(`${ledger}.layout1`, { recursive: true });
    await expect(migrateStore(join(tmp, 'nowhere'))).rejects.toThrow(/no store/);
    const fresh = join(tmp, `fresh-${n++}`);
    await (await LevelStore.open(fresh)).close();
    expect((await migrateStore(fresh)).status).toBe('already');
  }, 60_000);
});

describe('finishMigration', () => {
  it('completes a swap cut short before either rename or between them, and never lets an empty store be created', async () => {
    const ledger = copy();
    await migrateStore(ledger);
    const p = migrationPaths(ledger);
    // Before rename 1: the old store back in place, the marked new one beside it.
    renameSync(p.ledger, p.migrating);
    renameSync(p.old, p.ledger);
    expect(await openState(ledger)).toBe('new');
    await expectMigrated(p.old, ledger);
    // Between the renames: no <ledger> at all.
    renameSync(p.ledger, p.migrating);
    expect(await finishMigration(ledger)).toBe('finished');
    await expectMigrated(p.old, ledger);
    expect(await finishMigration(ledger)).toBe('none');
    // <ledger> gone, only the kept old store: refused, not created empty.
    renameSync(p.ledger, join(tmp, `moved-${n++}`));
    await expect(LevelStore.open(ledger)).rejects.toThrow(/refusing to create an empty store/);
    expect(existsSync(ledger)).toBe(false);
  }, 60_000);
});

describe('migration killed part way (SIGKILL of a child process)', () => {
  // Each run: kill, check that <ledger> holds the old store or the whole new one, then finish
  // (another run, or LevelStore.open for a cut-short swap) and compare everything with the source.
  const cases: Array<{ name: string; kill: { killAfter?: number; killAt?: string }; after: 'old' | 'new' }> = [
    { name: 'mid-copy of the entries (after the 3rd progress report)', kill: { killAfter: 3 }, after: 'old' },
    { name: 'mid-copy of the entries (after the 9th progress report)', kill: { killAfter: 9 }, after: 'old' },
    { name: 'mid-copy of the kept keys', kill: { killAt: 'copy' }, after: 'old' },
    { name: 'after the copy, before the verification and marker', kill: { killAt: 'copied' }, after: 'old' },
    { name: 'after the completion marker, before the renames', kill: { killAt: 'marker' }, after: 'new' },
    { name: 'between the two renames', kill: { killAt: 'swap' }, after: 'new' },
  ];
  for (const c of cases) {
    it(`leaves a whole store when killed ${c.name}`, async () => {
      const ledger = copy();
      const first = await runChild(ledger, c.kill);
      expect(first.signal, first.stderr).toBe('SIGKILL');
      if (c.kill.killAt === 'swap') expect(existsSync(ledger)).toBe(false);
      expect(await openState(ledger)).toBe(c.after);
      if (c.after === 'old') {
        expect(existsSync(join(`${ledger}.migrating`, MIGRATED_MARKER))).toBe(false);
        const again = await runChild(ledger, {});
        expect(again.code, again.stderr).toBe(0);
        expect(again.stderr).toMatch(/done migrated 3000/);
      }
      await expectMigrated(SOURCE, ledger);
      expect(await rawRows(`${ledger}.layout1`, () => true)).toEqual(await rawRows(SOURCE, () => true));
      expect((await migrateStore(ledger)).status).toBe('already');
    }, 90_000);
  }
});

describe('openUpgrading (the service at start)', () => {
  it('upgrades a layout-1 store in place with progress messages, then opens it', async () => {
    const ledger = copy();
    const lines: string[] = [];
    const store = await openUpgrading(ledger, {}, (l) => lines.push(l));
    expect(await store.getSize()).toBe(BigInt(ENTRIES));
    await store.close();
    expect(lines[0]).toMatch(/holds storage layout 1; upgrading it to layout 2/);
    expect(lines.join('\n')).toMatch(/entries 3,000 \/ 3,000[\s\S]*kept as .*ledger\.layout1/);
    await expectMigrated(SOURCE, ledger);
    const quiet: string[] = [];
    await (await openUpgrading(ledger, {}, (l) => quiet.push(l))).close();
    expect(quiet).toEqual([]);
  }, 60_000);
});
