/**
 * HJ 212 packets per device per day (record table `stats-hj212`), kept from the log's `hj212`
 * entries: key `<YYYY-MM-DD> <MN>` (the Asia/Shanghai day of the entry's receive time, the
 * device's MN; empty for a packet without a usable MN), value `{packets}`. Day-first keys make a
 * range of days one range scan. Row `~upTo` holds the number of entries summarized, written with
 * the counts it covers in one atomic write.
 */
import type { Entry } from '../core/entry/index.js';
import type { LedgerStore, RecordWrite } from '../storage/store.js';
import { parseMarker, RowCache, SummaryBase } from './summaries-base.js';
import { shanghaiDayOf } from './summaries-time.js';

/** The record table of the per-device daily counts. */
export const HJ212_TABLE = 'stats-hj212';
/** Key of the row holding how many entries the table covers ('~' sorts after every day). */
const MARKER = '~upTo';

/** One stored count: packets of device `mn` on `day`. */
export interface DeviceDay {
  readonly day: string;
  readonly mn: string;
  readonly packets: number;
}

function parsePackets(value: string): number {
  const v = (JSON.parse(value) as { packets?: unknown }).packets;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Error(`summaries: bad ${HJ212_TABLE} row ${value}`);
  return v;
}

/** Hj212Summary keeps `stats-hj212`. Positions are entry indexes. */
export class Hj212Summary extends SummaryBase {
  readonly name = HJ212_TABLE;
  #pending = new Map<string, number>();
  readonly #written = new RowCache<number>();

  constructor(store: LedgerStore) {
    super(store);
  }

  async load(): Promise<void> {
    const v = await this.store.getRecord(HJ212_TABLE, MARKER);
    this.start(v === undefined ? 0n : parseMarker(HJ212_TABLE, v));
  }

  /** add counts entry `entry` if it is an HJ 212 packet. Requires: index >= processed, in order. */
  add(_index: bigint, entry: Entry): void {
    if (entry.type !== 'hj212') return;
    const key = `${shanghaiDayOf(entry.receivedAt)} ${entry.meta.mn ?? ''}`;
    this.#pending.set(key, (this.#pending.get(key) ?? 0) + 1);
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
        const v = await this.store.getRecord(HJ212_TABLE, k);
        return v === undefined ? undefined : parsePackets(v);
      });
      const merged = keys.map((key, i) => (old[i] ?? 0) + (batch.get(key) as number));
      const rows: RecordWrite[] = keys.map((key, i) => ({ key, value: JSON.stringify({ packets: merged[i] }) }));
      rows.push({ key: MARKER, value: upTo.toString() });
      await this.store.putRecords(HJ212_TABLE, rows);
      this.persisted = upTo;
      keys.forEach((k, i) => this.#written.set(k, merged[i] as number));
    } catch (err) {
      for (const [k, n] of this.#pending) batch.set(k, (batch.get(k) ?? 0) + n);
      this.#pending = batch;
      throw err;
    }
  }

  /**
   * days reads the stored counts of days in [fromDay, toDay) (`YYYY-MM-DD`), at most `maxRows`,
   * in pages of 10,000; `truncated` when there were more.
   */
  async days(fromDay: string, toDay: string, maxRows: number): Promise<{ rows: DeviceDay[]; truncated: boolean }> {
    const rows: DeviceDay[] = [];
    let gte = fromDay;
    for (;;) {
      const want = Math.min(10_000, maxRows + 1 - rows.length);
      const page = await this.store.listRecords(HJ212_TABLE, { gte, lt: toDay, limit: want });
      for (const r of page) {
        const sp = r.key.indexOf(' ');
        rows.push({ day: r.key.slice(0, sp), mn: r.key.slice(sp + 1), packets: parsePackets(r.value) });
      }
      if (rows.length > maxRows) {
        rows.length = maxRows;
        return { rows, truncated: true };
      }
      if (page.length < want) return { rows, truncated: false };
      // The key just after the last one read (keys hold no NUL: U+0001 is the least that may follow).
      gte = `${(page[page.length - 1] as { key: string }).key}\u0001`;
    }
  }
}
