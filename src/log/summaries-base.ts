/**
 * What every summary of src/log/summaries.ts shares: the positions it covers (block heights or
 * entry indexes) and the write of its pending rows together with its marker, the number of
 * positions the stored rows cover, in ONE atomic write of its table.
 */
import type { LedgerStore } from '../storage/store.js';

/** A marker (positions covered) moves on its own, without pending rows, at most this often (ms). */
export const MARKER_ONLY_INTERVAL_MS = 10_000;

const DECIMAL = /^(0|[1-9][0-9]{0,19})$/;

/** parseMarker reads a stored marker: a canonical decimal (else the table is not ours: throws). */
export function parseMarker(table: string, value: string): bigint {
  if (!DECIMAL.test(value)) throw new Error(`summaries: ${table} marker ${JSON.stringify(value)} is not a canonical decimal`);
  return BigInt(value);
}

/**
 * RowCache keeps the last values a summary wrote (it is its tables' only writer), so that a flush
 * adds to them without reading them back; at most `max` rows, the least recently used dropped.
 */
export class RowCache<V> {
  readonly #max: number;
  readonly #rows = new Map<string, V>();

  constructor(max = 10_000) {
    this.#max = max;
  }

  get(key: string): V | undefined {
    const v = this.#rows.get(key);
    if (v !== undefined) {
      this.#rows.delete(key);
      this.#rows.set(key, v);
    }
    return v;
  }

  set(key: string, value: V): void {
    this.#rows.delete(key);
    this.#rows.set(key, value);
    if (this.#rows.size > this.#max) this.#rows.delete(this.#rows.keys().next().value as string);
  }

  /** read returns the values of `keys`: cached, else read with `load` (absent: undefined). */
  async read(keys: readonly string[], load: (key: string) => Promise<V | undefined>): Promise<Array<V | undefined>> {
    return Promise.all(keys.map((k) => (this.#rows.has(k) ? Promise.resolve(this.get(k)) : load(k))));
  }
}

export abstract class SummaryBase {
  /** The summary's (main) record table. */
  abstract readonly name: string;
  protected readonly store: LedgerStore;
  /** Positions [0, persisted) are in the stored rows. */
  persisted = 0n;
  /** Positions [0, processed) are in the stored rows or the pending ones. */
  processed = 0n;
  #loaded = false;
  #writing = false;
  #markerWrittenAt = 0;

  constructor(store: LedgerStore) {
    this.store = store;
  }

  /** load reads the marker (and repairs what an interrupted write left). */
  abstract load(): Promise<void>;
  /** Rows waiting to be written. */
  abstract get pendingRows(): number;
  /** write writes the pending rows and the marker `processed` (one atomic write per table); on failure the rows stay pending. */
  protected abstract write(): Promise<void>;

  /** start records the marker read by load. */
  protected start(upTo: bigint): void {
    this.persisted = upTo;
    this.processed = upTo;
    this.#loaded = true;
  }

  get loaded(): boolean {
    return this.#loaded;
  }

  /**
   * flush writes what is pending. A marker that moved without rows (positions that did not
   * concern this summary) is written at most every {@link MARKER_ONLY_INTERVAL_MS}, or when `force`.
   */
  async flush(force: boolean): Promise<void> {
    if (!this.#loaded) return;
    if (this.pendingRows === 0) {
      if (this.processed === this.persisted) return;
      if (!force && Date.now() - this.#markerWrittenAt < MARKER_ONLY_INTERVAL_MS) return;
    }
    this.#writing = true;
    try {
      await this.write();
      this.#markerWrittenAt = Date.now();
    } finally {
      this.#writing = false;
    }
  }

  /** Positions [0, covered) are what the stored rows answer for now. */
  get covered(): bigint {
    return this.pendingRows === 0 && !this.#writing ? this.processed : this.persisted;
  }
}
