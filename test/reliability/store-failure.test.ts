/**
 * A failed LevelDB write, without a full disk (so it runs anywhere, unlike disk-full.test.ts):
 * writes are made to fail by wrapping classic-level's batch methods, the way a full disk or an
 * I/O error would. After a failed write the store must refuse every write (LevelDB would drop
 * later writes on the same handle after a torn log record), report it in health(), reopen by
 * itself, and resume; when the "failed" write landed after all (an fsync error: the data may or
 * may not be on disk), the log adopts what is there instead of forking or stalling.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { toHex } from '../../src/core/bytes.js';
import { toProblem } from '../../src/http/errors.js';
import { Ledger, type EntryInput } from '../../src/log/ledger.js';
import { LevelStore } from '../../src/storage/level.js';
import { StoreUnavailableError } from '../../src/storage/store.js';
import { TEST_LOG } from '../http/helpers.js';

type AsyncFn = (this: unknown, ...args: unknown[]) => Promise<unknown>;
const proto = Level.prototype as unknown as { _chainedBatch(): { _write: AsyncFn }; _batch: AsyncFn };
const originalChained = proto._chainedBatch;
const originalBatch = proto._batch;

/** The next `times` writes of a kind fail; with `land`, they reach LevelDB first (an fsync error). */
function failWrites(kind: 'flush' | 'block', times: number, o: { land?: boolean; noSpace?: boolean } = {}): void {
  let left = times;
  const error = () => Object.assign(new Error(o.noSpace ? 'IO error: /x/000003.log: No space left on device' : 'IO error: /x/000003.log: Input/output error'), { code: 'LEVEL_IO_ERROR' });
  const wrap = (original: AsyncFn): AsyncFn =>
    async function (this: unknown, ...args: unknown[]) {
      if (left <= 0) return original.apply(this, args);
      left--;
      if (o.land) await original.apply(this, args);
      throw error();
    };
  if (kind === 'flush') {
    proto._chainedBatch = function (this: unknown) {
      const b = originalChained.call(this);
      b._write = wrap(b._write);
      return b;
    };
  } else proto._batch = wrap(originalBatch);
}

const dirs: string[] = [];
afterEach(() => {
  proto._chainedBatch = originalChained;
  proto._batch = originalBatch;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function open(retryMs = 0): Promise<{ ledger: Ledger; store: LevelStore; events: string[]; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'guzheng-store-failure-'));
  dirs.push(dir);
  const events: string[] = [];
  const store = await LevelStore.open(dir, { retryMs, onEvent: (m) => events.push(m) });
  // A long interval: checkpoints are published only when a test asks.
  const ledger = await Ledger.open({ store, signerKey: TEST_LOG.signerKey, checkpointIntervalMs: 60_000 });
  return { ledger, store, events, dir };
}

const digest = (i: number): EntryInput => ({ type: 'digest', digest: { alg: 'sha256', hex: toHex(new Uint8Array(32).fill(i)) }, meta: {} });

describe('a failed storage write', () => {
  it('poisons the handle: writes are refused (503 STORAGE_FULL) while reads work, until the store reopens; nothing acknowledged is lost', async () => {
    const { ledger, store, events, dir } = await open(60_000);
    await ledger.append([digest(1), digest(2)], 'key-test');
    await ledger.publisher.publishNow();
    failWrites('flush', 1, { noSpace: true });
    const err = await ledger.append([digest(3)], 'key-test').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(toProblem(err, { retryAfterSeconds: 1, storageRetryAfterSeconds: 5 })).toMatchObject({ problem: { status: 503, code: 'STORAGE_FULL' }, headers: { 'Retry-After': '5' } });
    expect(store.health()).toMatchObject({ state: 'full' });
    expect(events.join('\n')).toMatch(/a write failed \(IO error: .*No space left on device\)/);
    // The fault is gone, but the handle stays poisoned until a reopen: no write reaches LevelDB.
    await expect(ledger.append([digest(4)], 'key-test')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(ledger.sequencer.size).toBe(2n);
    expect((await ledger.getEntry(1n))?.entry.digest.hex).toBe(toHex(new Uint8Array(32).fill(2)));
    expect((await ledger.inclusionProof(0n)).path).toBeDefined();
    await ledger.close();
    // A restart (or the automatic reopen below) brings it back: both entries are there.
    const again = await LevelStore.open(dir);
    expect(await again.getSize()).toBe(2n);
    await again.close();
  });

  it('reopens by itself on the next write, and the log goes on', async () => {
    const { ledger, store, events } = await open(0);
    await ledger.append([digest(1)], 'key-test');
    failWrites('flush', 1);
    const err = await ledger.append([digest(2)], 'key-test').catch((e: unknown) => e);
    expect(err).toMatchObject({ full: false });
    expect(toProblem(err, { retryAfterSeconds: 1 })).toMatchObject({ problem: { status: 503, code: 'UNAVAILABLE' } });
    expect(store.health()).toMatchObject({ state: 'failed' });
    expect((await ledger.append([digest(2)], 'key-test'))[0]?.index).toBe(1n);
    expect(store.health()).toEqual({ state: 'ok' });
    expect(store.reopens).toBe(1);
    expect(events.at(-1)).toMatch(/reopened after a failed write/);
    const r = await ledger.append([digest(3)], 'key-test');
    expect(r[0]?.index).toBe(2n);
    await ledger.publisher.publishNow();
    expect(ledger.checkpointSize).toBe(3n);
    await ledger.close();
  });

  it('adopts a flush that failed but landed (fsync error): no fork, no stall', async () => {
    const { ledger, store } = await open(0);
    await ledger.append([digest(1)], 'key-test');
    failWrites('flush', 1, { land: true });
    await expect(ledger.append([digest(2)], 'key-test')).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(ledger.sequencer.size).toBe(1n);
    // The next submission reopens the store, which now holds 2 entries: that one is refused (503,
    // retry), the log adopts entry 1 (never acknowledged, but durable) and continues at 2.
    await expect(ledger.append([digest(3)], 'key-test')).rejects.toBeInstanceOf(StoreUnavailableError);
    const [r] = await ledger.append([digest(3)], 'key-test');
    expect(r?.index).toBe(2n);
    expect(await store.getSize()).toBe(3n);
    await ledger.publisher.publishNow();
    expect(ledger.checkpointSize).toBe(3n);
    await ledger.close();
  });

  it('adopts a block that failed but landed, instead of sealing a second block at its height', async () => {
    const { ledger, store } = await open(0);
    await ledger.publisher.publishNow();
    const height = ledger.latest().block.height;
    await ledger.append([digest(1)], 'key-test');
    failWrites('block', 1, { land: true });
    await expect(ledger.publisher.publishNow()).rejects.toBeInstanceOf(StoreUnavailableError);
    expect(ledger.publisher.lastError).toBeInstanceOf(StoreUnavailableError);
    // The next write reopens the store, which holds the block: that write is refused once (retry).
    await expect(ledger.append([digest(2)], 'key-test')).rejects.toBeInstanceOf(StoreUnavailableError);
    await ledger.append([digest(2)], 'key-test');
    await ledger.publisher.publishNow();
    const blocks = await store.getBlocks(0n, 100);
    expect(blocks.map((b) => b.height)).toEqual(Array.from({ length: blocks.length }, (_, i) => String(i)));
    expect(BigInt(blocks.at(-1)!.height)).toBe(height + 2n);
    expect(ledger.checkpointSize).toBe(2n);
    await ledger.close();
  });
});
