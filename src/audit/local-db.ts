/**
 * The LevelDB handle of a local audit (local.ts) and the scan helpers its readers share: opened
 * read-only in spirit (never created, never written), shareable with worker threads
 * (classic-level's `multithreading`), with the layout checked before anything is read
 * (contracts-free-ledger/SPEC.md#storage; docs/storage-v2.md).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Level } from 'level';
import { StoreLockedError } from '../storage/level.js';
import { StoreLayoutError, storedLayout } from '../storage/level-layout.js';
import { LAYOUT } from '../storage/layout2.js';
import { AuditAbort } from './source.js';

/** A LevelDB handle with raw binary keys and values. */
export type Db = Level<Uint8Array, Uint8Array>;

/** Most problems of one kind the final checks list before they stop looking. */
export const FINISH_LIMIT = 10;

/**
 * Scans read up to this many bytes per round trip into LevelDB (classic-level's default is 16 KiB,
 * which turns one chunk's scan into dozens of thread-pool round trips).
 */
export const HIGH_WATER = 16 * 1024 * 1024;

function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? (err as { code: unknown }).code : undefined;
}

function isLockError(err: unknown): boolean {
  const cause = typeof err === 'object' && err !== null && 'cause' in err ? (err as { cause: unknown }).cause : undefined;
  return errorCode(err) === 'LEVEL_LOCKED' || errorCode(cause) === 'LEVEL_LOCKED';
}

/**
 * resolveLedgerDir finds the LevelDB directory: `<dir>/ledger` of a data directory
 * (src/setup.ts dataPaths), or `dir` itself when it is a LevelDB directory (e.g. a backup of
 * `ledger/`). Throws {@link AuditAbort} when neither exists.
 */
export function resolveLedgerDir(dir: string): string {
  const abs = resolve(dir);
  if (existsSync(join(abs, 'ledger', 'CURRENT'))) return join(abs, 'ledger');
  if (existsSync(join(abs, 'CURRENT'))) return abs;
  throw new AuditAbort(`no Guzheng ledger at ${abs} (want a data directory holding ledger/, or a LevelDB directory)`);
}

/**
 * openDb opens the LevelDB at `path` (an already resolved ledger directory) for reading, never
 * creating it, shareable with worker threads of this process. Throws {@link StoreLockedError}
 * when another process (or a LevelStore in this one) holds it.
 */
export async function openDb(path: string): Promise<Db> {
  // 'buffer' encodings: classic-level hands back Buffers (Uint8Arrays) natively; 'view' costs a transcode per item.
  const db: Db = new Level<Uint8Array, Uint8Array>(path, { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false, multithreading: true });
  try {
    await db.open();
  } catch (err) {
    if (isLockError(err)) throw new StoreLockedError(path, { cause: err });
    throw new AuditAbort(`cannot open the LevelDB at ${path}: ${(err as Error).message}`, { cause: err });
  }
  return db;
}

/**
 * checkAuditLayout refuses (with {@link AuditAbort}, exit 2) a database in another storage layout
 * than the one this audit reads (layout 2; an empty database passes): a layout-1 directory is to
 * be upgraded with `guzheng migrate` first, and the message says so (StoreLayoutError's).
 */
export async function checkAuditLayout(db: Db, path: string): Promise<void> {
  const layout = await storedLayout(db);
  if (layout === undefined || layout === LAYOUT) return;
  const why = new StoreLayoutError(path, layout);
  throw new AuditAbort(`${why.message.replace(/^storage: /, '')}; the audit reads layout ${LAYOUT} only`, { cause: why });
}

/** collect reads up to `max` items of an iterator in as few round trips as possible, then closes it. */
export async function collect<T>(it: { nextv(size: number): Promise<T[]>; close(): Promise<void> }, max: number): Promise<T[]> {
  let out: T[] = [];
  try {
    while (out.length < max) {
      const got = await it.nextv(max - out.length);
      if (got.length === 0) break;
      out = out.length === 0 ? got : out.concat(got);
    }
  } finally {
    await it.close();
  }
  return out;
}

/** isZero tells whether the 32 bytes at `at` of `bytes` are all zero (an empty tile slot). */
export function isZero(bytes: Uint8Array, at: number): boolean {
  for (let i = 0; i < 32; i++) if (bytes[at + i] !== 0) return false;
  return true;
}
