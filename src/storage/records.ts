/**
 * Record tables: the service's own small records (console users, sessions, the admin trail,
 * explorer summaries), kept in the same store as the log but outside it. They are never part of
 * the Merkle tree, never proved, and may change or be deleted; the log's evidence does not depend
 * on them. Key layout (LevelStore): `r: ‖ table ‖ 0x00 ‖ UTF-8(key)`, so one table is one
 * contiguous range and keys sort by their UTF-8 bytes.
 */
import { badInput } from '../core/errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The greatest record value, UTF-8 bytes. */
export const MAX_RECORD_VALUE = 64 * 1024;
/** The greatest page a listing returns. */
export const MAX_RECORD_PAGE = 10_000;

const TABLE_RE = /^[a-z][a-z0-9-]{0,31}$/;

/** One row to write: a value to put, or undefined to delete the key. */
export interface RecordWrite {
  readonly key: string;
  readonly value: string | undefined;
}

/** A range query over one table: keys in [gte, lt), ascending (or descending when `reverse`). */
export interface RecordQuery {
  readonly gte?: string;
  readonly lt?: string;
  readonly limit: number;
  readonly reverse?: boolean;
}

/** A stored row. */
export interface RecordRow {
  readonly key: string;
  readonly value: string;
}

/** checkRecordTable requires a table name `[a-z][a-z0-9-]{0,31}` (else INPUT_INVALID). */
export function checkRecordTable(table: string): void {
  if (typeof table !== 'string' || !TABLE_RE.test(table)) badInput(`storage: record table ${JSON.stringify(table)}: want [a-z][a-z0-9-]{0,31}`);
}

/** The greatest record key, UTF-8 bytes: room for a 512-byte case number and a prefix (summaries). */
export const MAX_RECORD_KEY = 1024;

/** checkRecordKey requires a key of 1–1024 UTF-8 bytes without NUL (else INPUT_INVALID). */
export function checkRecordKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.includes('\0')) badInput(`storage: record key: want 1-${MAX_RECORD_KEY} UTF-8 bytes without NUL`);
  const n = encoder.encode(key).length;
  if (n > MAX_RECORD_KEY) badInput(`storage: record key got ${n} bytes, want at most ${MAX_RECORD_KEY}`);
}

/** checkRecordValue requires a string of at most {@link MAX_RECORD_VALUE} UTF-8 bytes (else INPUT_INVALID). */
export function checkRecordValue(value: string): void {
  if (typeof value !== 'string') badInput(`storage: record value got ${typeof value}, want a string`);
  const n = encoder.encode(value).length;
  if (n > MAX_RECORD_VALUE) badInput(`storage: record value got ${n} bytes, want at most ${MAX_RECORD_VALUE}`);
}

/** checkRecordQuery requires well-formed bounds and 1 ≤ limit ≤ {@link MAX_RECORD_PAGE} (else INPUT_INVALID). */
export function checkRecordQuery(q: RecordQuery): void {
  if (!Number.isSafeInteger(q.limit) || q.limit < 1 || q.limit > MAX_RECORD_PAGE) badInput(`storage: record listing limit ${q.limit}: want 1-${MAX_RECORD_PAGE}`);
  if (q.gte !== undefined) checkRecordKey(q.gte);
  if (q.lt !== undefined) checkRecordKey(q.lt);
}

function tablePrefix(table: string): Uint8Array {
  checkRecordTable(table);
  return encoder.encode(`r:${table}\0`);
}

/** recordKey returns `r: ‖ table ‖ 0x00 ‖ UTF-8(key)`. */
export function recordKey(table: string, key: string): Uint8Array {
  checkRecordKey(key);
  const p = tablePrefix(table);
  const k = encoder.encode(key);
  const out = new Uint8Array(p.length + k.length);
  out.set(p);
  out.set(k, p.length);
  return out;
}

/** recordRange returns the LevelDB range of `q` within `table`. */
export function recordRange(table: string, q: RecordQuery): { gte: Uint8Array; lt: Uint8Array } {
  checkRecordQuery(q);
  const p = tablePrefix(table);
  const end = p.slice();
  end[end.length - 1] = 1; // `r:table\x01`: just past every key of the table
  return { gte: q.gte === undefined ? p : recordKey(table, q.gte), lt: q.lt === undefined ? end : recordKey(table, q.lt) };
}

/** recordKeyOf returns the key part of a stored `r:` key of `table`. */
export function recordKeyOf(table: string, stored: Uint8Array): string {
  return decoder.decode(stored.subarray(tablePrefix(table).length));
}

/** compareRecordKeys orders keys by their UTF-8 bytes, as LevelDB does. */
export function compareRecordKeys(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}
