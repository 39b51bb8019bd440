/**
 * Entries and blocks per UTC hour (record table `stats-hour`), kept as blocks are published: a
 * block adds its `count` and 1 to the hour of its `time`. The table also holds the number of
 * blocks summarized (row `~upTo`), written in the same atomic write as the hours it covers, so a
 * restart resumes exactly after the last block counted: never twice, never skipped.
 */
import type { LedgerStore, RecordWrite } from '../storage/store.js';
import { parseMarker, RowCache, SummaryBase } from './summaries-base.js';
import { hourKeyOf } from './summaries-time.js';

/** The record table of the hour buckets. */
export const HOURS_TABLE = 'stats-hour';
/** Key of the row holding how many blocks the table covers ('~' sorts after every hour key). */
const MARKER = '~upTo';

/** The counts of one hour. */
export interface HourCounts {
  entries: number;
  blocks: number;
}

/** What the hour summary needs of a block: the stored block JSON's members. */
export interface BlockFacts {
  readonly height: bigint;
  readonly count: bigint;
  /** RFC 3339 UTC with milliseconds. */
  readonly time: string;
}

function parseCounts(value: string): HourCounts {
  const v = JSON.parse(value) as Partial<HourCounts>;
  if (!Number.isSafeInteger(v.entries) || !Number.isSafeInteger(v.blocks)) throw new Error(`summaries: bad ${HOURS_TABLE} row ${value}`);
  return { entries: v.entries as number, blocks: v.blocks as number };
}

/** HourSummary keeps `stats-hour`. Positions are block heights. */
export class HourSummary extends SummaryBase {
  readonly name = HOURS_TABLE;
  #pending = new Map<string, HourCounts>();
  readonly #written = new RowCache<HourCounts>(1000);

  constructor(store: LedgerStore) {
    super(store);
  }

  async load(): Promise<void> {
    const v = await this.store.getRecord(HOURS_TABLE, MARKER);
    this.start(v === undefined ? 0n : parseMarker(HOURS_TABLE, v));
  }

  /** add counts block `b`. Requires: b.height === processed (blocks in order, each once). */
  add(b: BlockFacts): void {
    if (b.height !== this.processed) throw new Error(`summaries: bad math: block ${b.height} given, want ${this.processed}`);
    const key = hourKeyOf(b.time);
    const c = this.#pending.get(key);
    if (c === undefined) this.#pending.set(key, { entries: Number(b.count), blocks: 1 });
    else {
      c.entries += Number(b.count);
      c.blocks += 1;
    }
    this.processed = b.height + 1n;
  }

  get pendingRows(): number {
    return this.#pending.size;
  }

  protected async write(): Promise<void> {
    const batch = this.#pending;
    const upTo = this.processed;
    this.#pending = new Map();
    try {
      const keys = [...batch.keys()];
      const old = await this.#written.read(keys, async (k) => {
        const v = await this.store.getRecord(HOURS_TABLE, k);
        return v === undefined ? undefined : parseCounts(v);
      });
      const merged = keys.map((key, i) => {
        const d = batch.get(key) as HourCounts;
        const o = old[i] ?? { entries: 0, blocks: 0 };
        return { entries: o.entries + d.entries, blocks: o.blocks + d.blocks };
      });
      const rows: RecordWrite[] = keys.map((key, i) => ({ key, value: JSON.stringify(merged[i]) }));
      rows.push({ key: MARKER, value: upTo.toString() });
      await this.store.putRecords(HOURS_TABLE, rows);
      this.persisted = upTo;
      keys.forEach((k, i) => this.#written.set(k, merged[i] as HourCounts));
    } catch (err) {
      // Put the batch back in front of what was added meanwhile: counts add up.
      for (const [k, c] of this.#pending) {
        const b = batch.get(k);
        if (b === undefined) batch.set(k, c);
        else batch.set(k, { entries: b.entries + c.entries, blocks: b.blocks + c.blocks });
      }
      this.#pending = batch;
      throw err;
    }
  }

  /**
   * hours reads the stored hour rows with keys in [fromKey, toKey) (UTC hour keys), at most
   * `limit` (≤ 10,000): one range scan.
   */
  async hours(fromKey: string, toKey: string, limit: number): Promise<Map<string, HourCounts>> {
    const rows = await this.store.listRecords(HOURS_TABLE, { gte: fromKey, lt: toKey, limit });
    const out = new Map<string, HourCounts>();
    for (const r of rows) out.set(r.key, parseCounts(r.value));
    return out;
  }
}
