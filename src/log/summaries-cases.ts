/**
 * Cases and their counts, for the officer's case list (record tables `cases` and `cases-recent`),
 * kept from the log's entries that carry a `caseId`:
 *
 * - `cases`: key = the case id (or, for an id over 240 UTF-8 bytes, its first ≤ 230 bytes, U+0001
 *   and 24 hex digits of its SHA-256: record keys hold at most 256 bytes), value
 *   `{caseId, entries, firstIndex, lastIndex, lastAt}`; row `U+0001 upTo` (no case id starts with
 *   a control character) holds the number of entries summarized. Case ids sort as their UTF-8
 *   bytes, so a prefix is one range scan.
 * - `cases-recent`: key = the case's lastIndex as 20 zero-padded digits (unique: an entry has one
 *   case), same value: read in reverse, the most recently touched cases first.
 *
 * A flush writes `cases-recent` first (the new rows, and the deletion of each case's previous
 * one), then `cases` with the marker. A crash between the two leaves rows in `cases-recent` at
 * indexes the marker does not cover yet: the next start (or flush) deletes every `cases-recent`
 * row at or past the marker, then the entries past the marker are summarized again, rewriting
 * them. Nothing is ever counted twice.
 */
import { createHash } from 'node:crypto';
import type { Entry } from '../core/entry/index.js';
import type { LedgerStore, RecordWrite } from '../storage/store.js';
import { parseMarker, RowCache, SummaryBase } from './summaries-base.js';

/** The record table of the cases, by case id. */
export const CASES_TABLE = 'cases';
/** The record table of the cases, by last entry index. */
export const CASES_RECENT_TABLE = 'cases-recent';
const MARKER = '\u0001upTo';
/** Longest case id (UTF-8 bytes) kept as its own key. */
const MAX_PLAIN_KEY = 240;
/** Bytes of a long case id kept at the front of its key. */
const LONG_KEY_HEAD = 230;

const encoder = new TextEncoder();

/** One case as listed. */
export interface CaseRow {
  readonly caseId: string;
  /** Number of entries in the case. */
  readonly entries: number;
  readonly firstIndex: bigint;
  readonly lastIndex: bigint;
  /** Receive time of its last entry. */
  readonly lastAt: string;
}

interface Pending {
  entries: number;
  firstIndex: bigint;
  lastIndex: bigint;
  lastAt: string;
}

/** cutUtf8 returns the longest prefix of `s` (whole code points) of at most `max` UTF-8 bytes. */
function cutUtf8(s: string, max: number): string {
  let bytes = 0;
  let i = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0) as number;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > max) break;
    bytes += n;
    i += ch.length;
  }
  return s.slice(0, i);
}

/** caseKey is the `cases` key of a case id (see the module comment). */
export function caseKey(caseId: string): string {
  if (encoder.encode(caseId).length <= MAX_PLAIN_KEY) return caseId;
  return `${cutUtf8(caseId, LONG_KEY_HEAD)}\u0001${createHash('sha256').update(caseId, 'utf8').digest('hex').slice(0, 24)}`;
}

/** caseKeyPrefix is what the `cases` key of every case id starting with `prefix` starts with. */
export function caseKeyPrefix(prefix: string): string {
  return encoder.encode(prefix).length <= LONG_KEY_HEAD ? prefix : cutUtf8(prefix, LONG_KEY_HEAD);
}

/** recentKey is the `cases-recent` key of a last index: 20 digits, so keys sort as indexes. */
export function recentKey(lastIndex: bigint): string {
  return lastIndex.toString().padStart(20, '0');
}

function formatRow(caseId: string, p: Pending): string {
  return JSON.stringify({ caseId, entries: p.entries, firstIndex: p.firstIndex.toString(), lastIndex: p.lastIndex.toString(), lastAt: p.lastAt });
}

/** parseCaseRow reads a stored row of either table. */
export function parseCaseRow(value: string): CaseRow {
  const v = JSON.parse(value) as Record<string, unknown>;
  const ok =
    typeof v.caseId === 'string' &&
    typeof v.entries === 'number' &&
    Number.isSafeInteger(v.entries) &&
    typeof v.firstIndex === 'string' &&
    /^[0-9]{1,20}$/.test(v.firstIndex) &&
    typeof v.lastIndex === 'string' &&
    /^[0-9]{1,20}$/.test(v.lastIndex) &&
    typeof v.lastAt === 'string';
  if (!ok) throw new Error(`summaries: bad case row ${value.slice(0, 200)}`);
  return { caseId: v.caseId as string, entries: v.entries as number, firstIndex: BigInt(v.firstIndex as string), lastIndex: BigInt(v.lastIndex as string), lastAt: v.lastAt as string };
}

/** CaseSummary keeps `cases` and `cases-recent`. Positions are entry indexes. */
export class CaseSummary extends SummaryBase {
  readonly name = CASES_TABLE;
  #pending = new Map<string, Pending>();
  /** The `cases` rows last written, by case id. */
  readonly #written = new RowCache<Pending>();
  /** `cases-recent` may hold rows at or past the marker (an interrupted write): delete them first. */
  #repair = true;

  constructor(store: LedgerStore) {
    super(store);
  }

  async load(): Promise<void> {
    const v = await this.store.getRecord(CASES_TABLE, MARKER);
    const upTo = v === undefined ? 0n : parseMarker(CASES_TABLE, v);
    await this.#repairRecent(upTo);
    this.start(upTo);
  }

  /** #repairRecent deletes the `cases-recent` rows at indexes >= upTo: written by a flush whose `cases` write never happened. */
  async #repairRecent(upTo: bigint): Promise<void> {
    for (;;) {
      const stale = await this.store.listRecords(CASES_RECENT_TABLE, { gte: recentKey(upTo), limit: 1000 });
      if (stale.length > 0) await this.store.putRecords(CASES_RECENT_TABLE, stale.map((r) => ({ key: r.key, value: undefined })));
      if (stale.length < 1000) break;
    }
    this.#repair = false;
  }

  /** add counts entry `entry` in its case, if it has one. Requires: index >= processed, in order. */
  add(index: bigint, entry: Entry): void {
    const caseId = (entry.meta as { caseId?: string }).caseId;
    if (caseId === undefined) return;
    const p = this.#pending.get(caseId);
    if (p === undefined) this.#pending.set(caseId, { entries: 1, firstIndex: index, lastIndex: index, lastAt: entry.receivedAt });
    else {
      p.entries++;
      p.lastIndex = index;
      p.lastAt = entry.receivedAt;
    }
  }

  get pendingRows(): number {
    return this.#pending.size;
  }

  protected async write(): Promise<void> {
    const batch = this.#pending;
    const upTo = this.processed;
    this.#pending = new Map();
    try {
      if (this.#repair) await this.#repairRecent(this.persisted);
      const ids = [...batch.keys()];
      const old = await this.#written.read(ids, async (id) => {
        const v = await this.store.getRecord(CASES_TABLE, caseKey(id));
        return v === undefined ? undefined : parseCaseRow(v);
      });
      const recent: RecordWrite[] = [];
      const cases: RecordWrite[] = [];
      const written: Pending[] = [];
      ids.forEach((caseId, i) => {
        const d = batch.get(caseId) as Pending;
        const o = old[i];
        const merged: Pending = o === undefined ? d : { entries: o.entries + d.entries, firstIndex: o.firstIndex, lastIndex: d.lastIndex, lastAt: d.lastAt };
        written.push(merged);
        const value = formatRow(caseId, merged);
        if (o !== undefined) recent.push({ key: recentKey(o.lastIndex), value: undefined });
        recent.push({ key: recentKey(merged.lastIndex), value });
        cases.push({ key: caseKey(caseId), value });
      });
      cases.push({ key: MARKER, value: upTo.toString() });
      if (recent.length > 0) await this.store.putRecords(CASES_RECENT_TABLE, recent);
      await this.store.putRecords(CASES_TABLE, cases);
      this.persisted = upTo;
      ids.forEach((id, i) => this.#written.set(id, written[i] as Pending));
    } catch (err) {
      this.#repair = true;
      // The batch is older than what was added meanwhile: its first index and counts come first.
      for (const [caseId, n] of this.#pending) {
        const b = batch.get(caseId);
        batch.set(caseId, b === undefined ? n : { entries: b.entries + n.entries, firstIndex: b.firstIndex, lastIndex: n.lastIndex, lastAt: n.lastAt });
      }
      this.#pending = batch;
      throw err;
    }
  }

  /**
   * recent lists up to `limit` cases most recently touched first, those whose last entry is below
   * `before` when given: one reverse range scan of `cases-recent`. `more` tells whether a next
   * page exists.
   */
  async recent(before: bigint | undefined, limit: number): Promise<{ cases: CaseRow[]; more: boolean }> {
    const rows = await this.store.listRecords(CASES_RECENT_TABLE, { reverse: true, limit: limit + 1, ...(before !== undefined ? { lt: recentKey(before) } : {}) });
    return { cases: rows.slice(0, limit).map((r) => parseCaseRow(r.value)), more: rows.length > limit };
  }

  /**
   * byPrefix lists up to `limit` cases whose id starts with `prefix`, in case id order (UTF-8
   * bytes), those after case `after` when given: one range scan of `cases`.
   */
  async byPrefix(prefix: string, after: string | undefined, limit: number): Promise<{ cases: CaseRow[]; more: boolean }> {
    const head = caseKeyPrefix(prefix);
    const out: CaseRow[] = [];
    let gte = after === undefined ? head : `${caseKey(after)}\u0001`;
    // Long ids share their key's head with ids that do not start with the prefix: skip those, page on.
    for (;;) {
      const want = limit + 1 - out.length;
      const rows = await this.store.listRecords(CASES_TABLE, { gte, lt: `${head}\u{10FFFF}`, limit: want });
      for (const r of rows) {
        const c = parseCaseRow(r.value);
        if (c.caseId.startsWith(prefix)) out.push(c);
      }
      if (out.length > limit) return { cases: out.slice(0, limit), more: true };
      if (rows.length < want) return { cases: out, more: false };
      gte = `${(rows[rows.length - 1] as { key: string }).key}\u0001`;
    }
  }
}
