/**
 * Step 2 of a migration from layout 1 (migrate.ts; contracts-free-ledger/SPEC.md#storage, "Layout
 * 2"): the keys layout 2 keeps unchanged, copied verbatim. Everything in the layout-1 store except
 * the families layout 2 replaces (`e` entries, `n` nodes, `d` digest index, `l` leaf-hash index)
 * and `s:size` is copied: attachments `a`, secondary indexes `x`, blocks `b`, evidence `v`, meta
 * `m:`, API keys `k:`, records `r:`, `s:blocks`, and any key this code does not know of. These are
 * exactly the bytes a layout-2 store writing the same log holds under those keys (appendBatch
 * writes attachments and secondary keys as layout 1 did).
 */
import { equalBytes, toHex } from '../core/bytes.js';
import { SIZE_KEY } from './keys.js';
import { LAYOUT_KEY, PREFIX2 } from './layout2.js';
import type { Db } from './level-handle.js';
import { killPoint } from './migrate-swap.js';

/** First bytes of the layout-1 families layout 2 replaces: `d`, `e`, `l`, `n`. */
const REPLACED = [0x64, 0x65, 0x6c, 0x6e];
/** First bytes of layout 2's own families: every PREFIX2 family (bundles, tiles, digests and their pieces), and `i` (the run indexes, run-index.ts). */
const OWN = [...Object.values(PREFIX2), 0x69];

/** Keys per synced batch, and the bytes that close a batch early. */
const BATCH_KEYS = 8192;
const BATCH_BYTES = 8 << 20;

/** rangesWithout returns LevelDB ranges covering every key whose first byte is not in `skip`. */
function rangesWithout(skip: readonly number[]): Array<{ gte?: Uint8Array; lt?: Uint8Array }> {
  const out: Array<{ gte?: Uint8Array; lt?: Uint8Array }> = [];
  let from: number | undefined;
  for (const b of [...new Set(skip)].sort((x, y) => x - y)) {
    out.push({ ...(from === undefined ? {} : { gte: Uint8Array.of(from) }), lt: Uint8Array.of(b) });
    from = b + 1;
  }
  out.push(from === undefined ? {} : { gte: Uint8Array.of(from) });
  return out;
}

/** Whether a key of the copied ranges belongs to the store's own bookkeeping (`s:size`, `s:layout`). */
function isSizeOrLayout(key: Uint8Array): boolean {
  return equalBytes(key, SIZE_KEY) || equalBytes(key, LAYOUT_KEY);
}

/** The ranges copied from layout 1, and the ranges that hold them in the layout-2 store. */
const SOURCE_RANGES = rangesWithout(REPLACED);
const TARGET_RANGES = rangesWithout([...REPLACED, ...OWN]);

/** scan yields a range's rows in chunks (keys and values are fresh copies). */
async function* scan(db: Db, range: { gte?: Uint8Array; lt?: Uint8Array }, keysOnly: boolean): AsyncGenerator<Array<[Uint8Array, Uint8Array]>> {
  const it = db.iterator({ ...range, values: !keysOnly });
  try {
    for (;;) {
      const rows = await it.nextv(1024);
      if (rows.length === 0) return;
      yield rows.filter(([k]) => !isSizeOrLayout(k)).map(([k, v]) => [new Uint8Array(k), keysOnly ? new Uint8Array(0) : new Uint8Array(v)]);
    }
  } finally {
    await it.close();
  }
}

/**
 * copyUnchanged makes the kept keys of `target` (a layout-2 store being built, opened raw) equal to
 * those of `source` (layout 1): what an earlier, interrupted run copied is deleted first (the
 * source may have changed since: a record deleted, an API key revoked), then every kept key is
 * copied in synced batches. `progress` gets the keys copied so far.
 */
export async function copyUnchanged(source: Db, target: Db, progress: (done: bigint) => void): Promise<void> {
  for (const range of TARGET_RANGES) {
    for await (const rows of scan(target, range, true)) {
      if (rows.length > 0) await target.batch(rows.map(([k]) => ({ type: 'del' as const, key: k })), { sync: true });
    }
  }
  let done = 0n;
  let batch: Array<{ type: 'put'; key: Uint8Array; value: Uint8Array }> = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    if (batch.length === 0) return;
    await target.batch(batch, { sync: true });
    done += BigInt(batch.length);
    batch = [];
    bytes = 0;
    progress(done);
    killPoint('copy');
  };
  for (const range of SOURCE_RANGES) {
    for await (const rows of scan(source, range, false)) {
      for (const [key, value] of rows) {
        batch.push({ type: 'put', key, value });
        bytes += key.length + value.length;
      }
      if (batch.length >= BATCH_KEYS || bytes >= BATCH_BYTES) await flush();
    }
  }
  await flush();
}

/**
 * compareUnchanged requires the kept keys of `target` to equal those of `source`, key for key and
 * byte for byte (else it throws, naming the first difference).
 */
export async function compareUnchanged(source: Db, target: Db): Promise<void> {
  const a = rows(source, SOURCE_RANGES);
  const b = rows(target, TARGET_RANGES);
  for (let n = 0; ; n++) {
    const [x, y] = await Promise.all([a.next(), b.next()]);
    if (x.done === true && y.done === true) return;
    if (x.done === true || y.done === true || !equalBytes(x.value[0], y.value[0]) || !equalBytes(x.value[1], y.value[1])) {
      const at = x.done === true ? (y.done === true ? '' : toHex(y.value[0])) : toHex(x.value[0]);
      await Promise.all([a.return(undefined), b.return(undefined)]);
      throw new Error(`storage: migrated store differs from layout 1 at kept key ${n} (${at})`);
    }
  }
}

async function* rows(db: Db, ranges: ReadonlyArray<{ gte?: Uint8Array; lt?: Uint8Array }>): AsyncGenerator<[Uint8Array, Uint8Array]> {
  for (const range of ranges) for await (const chunk of scan(db, range, false)) yield* chunk;
}
