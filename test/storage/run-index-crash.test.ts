/**
 * The lazy index path of storage layout 2 killed for real (issue 17 item 3): a LevelStore in a
 * child process (test/support/run-index-writer.ts) appends many small flushes; the store writes
 * their index runs after them, unsynced (src/storage/lazy-index.ts), and merges the runs in the
 * background (run-index.ts). The child is SIGKILLed as it issues its k-th run-index write (a run
 * write or a merge's), so acknowledged entries are in no run yet and a merge is cut short. The
 * parent then reopens the store: every acknowledged entry (the child printed its size) is found
 * by lookupLeafHash and by lookupDigest at its index, and nothing past the stored size is; after a
 * clean close no merge marker, garbage mark or page that no manifest names is left. Five kills on
 * one directory, the log growing across them, so that later kills also land in merges of level 1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Level } from 'level';
import { afterAll, describe, expect, it } from 'vitest';
import { LEAF_INDEX, DIGEST_INDEX } from '../../src/storage/layout2.js';
import { LevelStore } from '../../src/storage/level.js';
import { PREFIX_SIZE } from '../../src/storage/run-index.js';
import { writerEntry } from '../support/run-index-writer.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const WRITER = join(ROOT, 'test', 'support', 'run-index-writer.ts');
const root = mkdtempSync(join(tmpdir(), 'guzheng-run-index-crash-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What one writer process did before it died. */
interface Killed {
  /** The last size it printed as acknowledged (0n if none). */
  readonly acked: bigint;
  /** Run-index writes it reported issuing. */
  readonly indexWrites: number;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/**
 * killWriter runs the writer on `dir` and SIGKILLs it as soon as it reports its `killAt`-th
 * run-index write (a merge in flight); it must not finish its `max` entries first.
 */
function killWriter(dir: string, seed: number, killAt: number, max: number): Promise<Killed> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dir, String(seed), String(max)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let acked = 0n;
    let indexWrites = 0;
    let stderr = '';
    let partial = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-5000);
    });
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const [what, n, kind] = line.split(' ');
        if (what === 'acked') acked = BigInt(n ?? '0');
        else if (what === 'index-write') {
          indexWrites = Number(n);
          // Every other kill waits for a merge's swap at or after its write: a merge makes two
          // writes (pages with its marker, then the swap), so most index writes are runs.
          if (indexWrites >= killAt && (killAt % 2 === 0 || kind === 'swap') && !child.killed) child.kill('SIGKILL');
        }
      }
    });
    child.once('error', fail);
    child.once('exit', (_code, signal) => {
      clearTimeout(timer);
      done({ acked, indexWrites, signal, stderr });
    });
  });
}

type Db = Level<Uint8Array, Uint8Array>;

/**
 * What the run indexes left on disk: merge markers, garbage marks, pages, the pages the manifests
 * name, and `covered`: the entries [0, covered) both indexes' runs describe without a gap.
 */
async function leftovers(dir: string): Promise<{ markers: number; garbage: number; pages: number; named: number; covered: number }> {
  const db: Db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
  await db.open();
  try {
    const count = async (id: number, kind: number): Promise<Array<[Uint8Array, Uint8Array]>> => db.iterator({ gte: new Uint8Array([0x69, id, kind]), lt: new Uint8Array([0x69, id, kind + 1]) }).all();
    const out = { markers: 0, garbage: 0, pages: 0, named: 0, covered: Infinity };
    for (const id of [LEAF_INDEX, DIGEST_INDEX]) {
      out.markers += (await count(id, 0x77)).length;
      out.garbage += (await count(id, 0x67)).length;
      out.pages += (await count(id, 0x70)).length;
      const manifests = await count(id, 0x6d);
      out.named += manifests.reduce((a, [, v]) => a + (v.length - 16) / PREFIX_SIZE, 0);
      // Manifest key: i ‖ id ‖ m ‖ u8(level) ‖ u64be(first); value: u64be(end) ‖ …
      const runs = manifests
        .map(([k, v]) => ({ first: Number(Buffer.from(k).readBigUInt64BE(4)), end: Number(Buffer.from(v).readBigUInt64BE(0)) }))
        .sort((a, b) => a.first - b.first);
      let covered = 0;
      for (const r of runs) if (r.first <= covered && r.end > covered) covered = r.end;
      out.covered = Math.min(out.covered, covered);
    }
    return out;
  } finally {
    await db.close();
  }
}

describe('run indexes killed mid-merge (SIGKILL of a real writer process)', () => {
  it('find every acknowledged entry by leaf hash and by digest after a restart, and nothing past the size', async () => {
    const ledger = join(root, 'store');
    let cutShort = 0;
    let behind = 0;
    let before = 0n;
    let levels = 0;
    const kills: string[] = [];
    // k: the run-index write the kill is sent at. A level-0 merge writes ~19 times per index and
    // the two indexes merge side by side, so 40 is after about two merges, 400 after about twenty.
    const plan = [40, 151, 25, 400, 91]; // odd: the first swap from there on
    for (const [cycle, killAt] of plan.entries()) {
      const k = await killWriter(ledger, 1000 + cycle, killAt, 1_000_000);
      expect(k.signal, k.stderr).toBe('SIGKILL');
      expect(k.indexWrites, 'the kill came at a run-index write').toBeGreaterThanOrEqual(killAt);
      expect(k.acked).toBeGreaterThan(before);
      // What the kill cut short: a merge in flight (its marker) or replaced runs not yet cleared.
      const left = await leftovers(ledger);
      if (left.markers + left.garbage > 0) cutShort++;
      if (BigInt(left.covered) < k.acked) behind++;
      const store = await LevelStore.open(ledger);
      try {
        const size = await store.getSize();
        expect(size).toBeGreaterThanOrEqual(k.acked);
        kills.push(`kill ${cycle + 1} at run-index write ${killAt}: ${k.acked} acknowledged, ${size} stored, ${left.covered} in the runs; left ${left.markers} merge marker(s), ${left.garbage} garbage mark(s), ${left.pages - left.named} unnamed page(s); runs per level ${JSON.stringify(store.indexState.leafShape)}`);
        // Every stored entry (the acknowledged ones and any durable flush the child died before
        // acknowledging) is found at its index, by both indexes.
        for (let i = 0n; i < size; i++) {
          const e = writerEntry(i);
          const [byLeaf, byDigest] = await Promise.all([store.lookupLeafHash(e.leafHash), store.lookupDigest('sha256', e.digestHex)]);
          if (byLeaf.length !== 1 || byLeaf[0] !== i || byDigest.length !== 1 || byDigest[0] !== i) {
            expect.fail(`kill ${cycle + 1}: entry ${i} of ${size} (acknowledged ${k.acked}): by leaf hash ${JSON.stringify(byLeaf.map(String))}, by digest ${JSON.stringify(byDigest.map(String))}`);
          }
        }
        // Nothing past the size: the entries the child would have written next are not found.
        for (let i = size; i < size + 64n; i++) {
          const e = writerEntry(i);
          expect(await store.lookupLeafHash(e.leafHash), `entry ${i} past the size ${size}`).toEqual([]);
          expect(await store.lookupDigest('sha256', e.digestHex), `entry ${i} past the size ${size}`).toEqual([]);
        }
        expect(store.indexState.error).toBeUndefined();
        before = size;
        levels = store.indexState.leafShape.length;
      } finally {
        await store.close();
      }
      // The reopen cleared what the kill left.
      const after = await leftovers(ledger);
      expect(after.markers + after.garbage, `kill ${cycle + 1}: leftovers after a reopen`).toBe(0);
      expect(after.pages, `kill ${cycle + 1}: pages no manifest names`).toBe(after.named);
    }
    console.log(kills.join('\n'));
    // The kills came before the indexes had caught up (acknowledged entries in no run) and while
    // merges were in flight (a marker or a garbage mark on disk), not between them.
    expect(behind).toBeGreaterThanOrEqual(1);
    expect(cutShort).toBeGreaterThanOrEqual(1);
    // Runs of level 2 exist at the end: merges of level 1 (64 flushes each) happened too.
    expect(levels).toBeGreaterThanOrEqual(3);
  }, 240_000);
});
