/**
 * The explorer's summaries, kept beside the log in record tables (src/storage/records.ts), never
 * part of it: entries and blocks per hour (`stats-hour`, src/log/summaries-hours.ts), HJ 212
 * packets per device per day (`stats-hj212`, summaries-hj212.ts) and cases with their counts
 * (`cases`, `cases-recent`, summaries-cases.ts). They answer the explorer's statistics and the
 * officer's case list without ever scanning the log.
 *
 * They follow the log; anchoring never waits for them:
 *
 * - entries: the ledger hands every acknowledged append to {@link Summaries} (one array push, on
 *   the append path nothing else); blocks are read back from the store (a few per second);
 * - a background loop (every 100 ms) folds what arrived into counters in memory, and writes them
 *   at most once per `flushIntervalMs` (default 1 s): one atomic write per table, with the
 *   summary's marker (how many blocks or entries the table covers);
 * - at start the loop resumes from the markers, reading from the store only what lies past them:
 *   after a clean stop nothing, after a crash about one interval; a summary that never ran (an
 *   older log) reads the whole log once, in pages, giving way to submissions. Entries the feed
 *   missed (a gap, an overflowing feed) are read from the store the same way.
 *
 * The routes answer what the stored rows hold and say how far that goes (`covered`).
 */
import { decodeEntry, type Entry } from '../core/entry/index.js';
import type { LedgerStore } from '../storage/store.js';
import type { SummaryBase } from './summaries-base.js';
import { CaseSummary } from './summaries-cases.js';
import { Hj212Summary } from './summaries-hj212.js';
import { HourSummary } from './summaries-hours.js';

/** Tuning of the summaries. */
export interface SummaryOptions {
  /** Least ms between two writes of the summaries. Default 1,000. */
  readonly flushIntervalMs?: number;
  /** Entries read from the store per step of a catch-up. Default 1,000. */
  readonly pageEntries?: number;
  /** Problems (a failed write, an entry that does not decode), one line each. */
  readonly onEvent?: (line: string) => void;
}

/** One acknowledged entry, as the ledger hands it over. */
export interface AppendedEntry {
  readonly index: bigint;
  readonly entry: Entry;
}

/** What the summaries need of the log: its store, its size, its queue. */
export interface SummaryLog {
  readonly store: LedgerStore;
  /** Entries durably in the log. */
  size(): bigint;
  /** Blocks published (the next height). */
  blocks(): bigint;
  /** Entries waiting to be written: a catch-up gives way while there are some. */
  queued(): number;
}

/** How far the summaries are, for /v1/admin/health. */
export interface SummaryStatus {
  readonly state: 'loading' | 'catching-up' | 'current' | 'stopped' | 'failed';
  /** Blocks the hour buckets cover (stored), and how many published blocks they lack. */
  readonly blocks: { readonly covered: bigint; readonly behind: bigint };
  /** Entries the case and HJ 212 summaries cover (stored; the lesser of the two), and how many they lack. */
  readonly entries: { readonly covered: bigint; readonly behind: bigint };
  readonly lastError?: string;
  readonly lastErrorAt?: string;
}

/** Most entries the in-memory feed holds; what it cannot take is read from the store. */
const FEED_CAP = 20_000;
/** Blocks read from the store per step. */
const PAGE_BLOCKS = 500;
/** How often the loop folds the feed in (ms; writes are still at most once per flush interval). */
const STEP_MS = 100;

/** Canonical entry JSON members that make an entry matter to a summary: a case, an HJ 212 packet. */
const CASE_MARK = Buffer.from('"caseId":"');
const HJ212_MARK = Buffer.from('"type":"hj212"');

/**
 * mayMatter tells, from an entry's canonical JSON (RFC 8785: no spaces, `"` escaped in strings),
 * whether it can concern a summary; false only when it certainly does not, so a catch-up decodes
 * only the entries it needs.
 */
function mayMatter(data: Uint8Array): boolean {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return b.indexOf(CASE_MARK) >= 0 || b.indexOf(HJ212_MARK) >= 0;
}

export class Summaries {
  readonly hours: HourSummary;
  readonly hj212: Hj212Summary;
  readonly cases: CaseSummary;
  readonly #log: SummaryLog;
  readonly #entrySummaries: ReadonlyArray<Hj212Summary | CaseSummary>;
  readonly #flushIntervalMs: number;
  readonly #pageEntries: number;
  readonly #onEvent: (line: string) => void;
  /** Appends handed over and not folded in yet, in the order acknowledged. */
  #feed: Array<readonly AppendedEntry[]> = [];
  #feedCount = 0;
  #state: SummaryStatus['state'] = 'loading';
  #lastError: { message: string; at: string } | undefined;
  #reportedAt = 0;
  #running: Promise<void> | undefined;
  #stopping = false;
  #wake: (() => void) | undefined;
  #closing: Promise<void> | undefined;
  /** Steps and writes run one at a time (the loop, flush(), close()). */
  #lock: Promise<void> = Promise.resolve();

  constructor(log: SummaryLog, o: SummaryOptions = {}) {
    this.#log = log;
    this.hours = new HourSummary(log.store);
    this.hj212 = new Hj212Summary(log.store);
    this.cases = new CaseSummary(log.store);
    this.#entrySummaries = [this.hj212, this.cases];
    this.#flushIntervalMs = o.flushIntervalMs ?? 1000;
    this.#pageEntries = o.pageEntries ?? 1000;
    this.#onEvent = o.onEvent ?? (() => {});
  }

  /** start loads the markers and runs the loop in the background (never awaited by the log's start). */
  start(): void {
    this.#running ??= this.#run();
  }

  /**
   * appended takes acknowledged entries, in acknowledgement order. Cheap: one push. Entries it
   * drops (feed full, stopping) are read back from the store later.
   */
  appended(entries: readonly AppendedEntry[]): void {
    if (this.#stopping || entries.length === 0 || this.#feedCount + entries.length > FEED_CAP) return;
    this.#feed.push(entries);
    this.#feedCount += entries.length;
  }

  status(): SummaryStatus {
    const covered = this.cases.covered < this.hj212.covered ? this.cases.covered : this.hj212.covered;
    const blocks = this.#log.blocks();
    const size = this.#log.size();
    const lag = (total: bigint, c: bigint) => (total > c ? total - c : 0n);
    return {
      state: this.#state,
      blocks: { covered: this.hours.covered, behind: lag(blocks, this.hours.covered) },
      entries: { covered, behind: lag(size, covered) },
      ...(this.#lastError !== undefined ? { lastError: this.#lastError.message, lastErrorAt: this.#lastError.at } : {}),
    };
  }

  /** flush folds in what arrived and writes it now (tests; the loop does it on its own). */
  flush(): Promise<void> {
    return this.#exclusive(async () => {
      if (!this.#loadedAll()) return;
      while (await this.#stepBlocks());
      while (await this.#stepEntries());
      await this.#flushAll(true);
    });
  }

  #exclusive<T>(f: () => Promise<T>): Promise<T> {
    const p = this.#lock.then(f);
    this.#lock = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /**
   * close stops the loop, folds in what the feed holds (and a short gap from the store), and
   * writes it (unless `flush: false`: what a crash would leave). Idempotent: later calls wait for
   * the first. Never throws: a failure is reported, the next start catches up.
   */
  close(o: { flush?: boolean } = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopping = true;
      this.#wake?.();
      await this.#running;
      if (o.flush === false || !this.#loadedAll()) {
        this.#state = 'stopped';
        return;
      }
      try {
        await this.#exclusive(async () => {
          // Bounded: a long catch-up is not finished at close, the next start resumes it.
          for (let i = 0; i < 10 && (await this.#stepBlocks()); i++);
          for (let i = 0; i < 10 && (await this.#stepEntries()); i++);
          await this.#flushAll(true);
        });
      } catch (err) {
        this.#fail(err);
      }
      this.#feed = [];
      this.#feedCount = 0;
      this.#state = 'stopped';
    })();
    return this.#closing;
  }

  #loadedAll(): boolean {
    return this.hours.loaded && this.hj212.loaded && this.cases.loaded;
  }

  #fail(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const last = this.#lastError;
    this.#lastError = { message, at: new Date().toISOString() };
    // A failing store fails every second: told once a minute, or when the problem changes.
    if (last === undefined || last.message !== message || Date.now() - this.#reportedAt >= 60_000) {
      this.#reportedAt = Date.now();
      this.#onEvent(`summaries: ${message}`);
    }
  }

  async #run(): Promise<void> {
    // A store that fails now (down, I/O errors) may come back: the markers are read again later.
    for (;;) {
      try {
        await Promise.all([this.hours.load(), this.hj212.load(), this.cases.load()]);
        break;
      } catch (err) {
        this.#fail(err);
        await this.#sleep(5 * this.#flushIntervalMs);
        if (this.#stopping) return;
      }
    }
    if (this.hours.processed > this.#log.blocks() || this.hj212.processed > this.#log.size() || this.cases.processed > this.#log.size()) {
      this.#fail(new Error('the stored summaries cover more than the log holds (a replaced or restored database?): not kept until their record tables are removed'));
      this.#state = 'failed';
      return;
    }
    let lastFlush = Date.now();
    while (!this.#stopping) {
      let progressed = false;
      try {
        progressed = await this.#exclusive(async () => {
          const blocks = await this.#stepBlocks();
          const entries = await this.#stepEntries();
          this.#state = (blocks || entries) && this.#behind() ? 'catching-up' : 'current';
          if (Date.now() - lastFlush >= this.#flushIntervalMs) {
            lastFlush = Date.now();
            await this.#flushAll(false);
          }
          return blocks || entries;
        });
      } catch (err) {
        this.#fail(err);
        progressed = false;
      }
      if (this.#stopping) break;
      if (progressed && this.#behind()) {
        // A catch-up: the next page at once, but after pending I/O, and later while submissions wait.
        await new Promise<void>((r) => setImmediate(r));
        if (this.#log.queued() > 0) await this.#sleep(5);
      } else await this.#sleep(Math.min(STEP_MS, this.#flushIntervalMs));
    }
  }

  #behind(): boolean {
    return this.#entryNext() < this.#log.size() || this.hours.processed < this.#log.blocks();
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      // The log's close stops the loop; an unclosed log does not keep the process alive for it.
      t.unref();
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.#wake = done;
    });
  }

  async #flushAll(force: boolean): Promise<void> {
    const failures: unknown[] = [];
    for (const s of [this.hours, this.hj212, this.cases] as SummaryBase[]) {
      try {
        await s.flush(force);
      } catch (err) {
        failures.push(err);
      }
    }
    if (failures.length > 0) throw failures[0];
  }

  /** #stepBlocks counts the blocks published since the last step (read from the store, a page at most). */
  async #stepBlocks(): Promise<boolean> {
    const next = this.hours.processed;
    const count = this.#log.blocks();
    if (next >= count) return false;
    const blocks = await this.#log.store.getBlocks(next, Number(count - next < BigInt(PAGE_BLOCKS) ? count - next : BigInt(PAGE_BLOCKS)));
    for (const b of blocks) this.hours.add({ height: BigInt(b.height), count: BigInt(b.count), time: b.time });
    return blocks.length > 0;
  }

  /** The next entry index some entry summary lacks. */
  #entryNext(): bigint {
    const [a, b] = [this.hj212.processed, this.cases.processed];
    return a < b ? a : b;
  }

  #fold(index: bigint, entry: Entry): void {
    for (const s of this.#entrySummaries) if (index >= s.processed) s.add(index, entry);
  }

  #advance(end: bigint): void {
    for (const s of this.#entrySummaries) if (s.processed < end) s.processed = end;
  }

  /**
   * #stepEntries folds in the entries past the summaries' position: from the feed while it
   * continues exactly there, else (a catch-up, a gap) one page read from the store.
   */
  async #stepEntries(): Promise<boolean> {
    let next = this.#entryNext();
    let progressed = false;
    while (this.#feed.length > 0) {
      const batch = this.#feed[0] as readonly AppendedEntry[];
      const first = (batch[0] as AppendedEntry).index;
      const end = first + BigInt(batch.length);
      if (first > next) break; // a gap before it: read from the store below
      this.#feed.shift();
      this.#feedCount -= batch.length;
      if (end <= next) continue; // already read from the store
      for (let i = Number(next - first); i < batch.length; i++) {
        const e = batch[i] as AppendedEntry;
        this.#fold(e.index, e.entry);
      }
      this.#advance(end);
      next = end;
      progressed = true;
    }
    const size = this.#log.size();
    if (next >= size) return progressed;
    const gapEnd = this.#feed.length > 0 ? ((this.#feed[0] as readonly AppendedEntry[])[0] as AppendedEntry).index : size;
    const limit = Number(gapEnd - next < BigInt(this.#pageEntries) ? gapEnd - next : BigInt(this.#pageEntries));
    const data = await this.#log.store.getEntries(next, limit);
    for (let i = 0; i < data.length; i++) {
      const d = data[i] as Uint8Array;
      if (!mayMatter(d)) continue;
      const index = next + BigInt(i);
      let entry: Entry;
      try {
        entry = decodeEntry(d);
      } catch (err) {
        this.#fail(new Error(`entry ${index} does not decode, left out of the summaries: ${err instanceof Error ? err.message : String(err)}`));
        continue;
      }
      this.#fold(index, entry);
    }
    this.#advance(next + BigInt(data.length));
    return data.length > 0 || progressed;
  }
}
